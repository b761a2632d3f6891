/**
 * `kdrec bench train`: training throughput of the engine on the fixed `dssm-ref` model of issue 2
 * (see src/models/dssmRef.ts), single- or multi-threaded. Prints one JSON line with --json; the
 * figures in BENCHMARKS.md come from this command. Timing is wall-clock over the measured steps only:
 * batches are generated before the clock starts and warm-up steps (JIT, buffer pools) are excluded.
 */
import type { Command } from 'commander';
export interface BenchTrainResult {
    model: string;
    batch: number;
    threads: number;
    steps: number;
    warmupSteps: number;
    samplesPerSec: number;
    msPerStep: number;
    peakRssMiB: number;
    /**
     * CPU time of all threads over wall time in the timed steps: 1.0 = one core busy throughout. On
     * a shared machine a low value means the threads were waiting for a core, not computing.
     */
    cpuUtilization: number;
    kernels: string;
    parameters: number;
    finalLoss: number;
    node: string;
    cpu: string;
}
export declare function benchTrain(opts: {
    model: string;
    batch: number;
    threads: number;
    steps: number;
    warmup: number;
    pool: number;
    seed: number;
}): Promise<BenchTrainResult>;
export declare function register(program: Command): void;
