/**
 * `kdrec bench train`: training throughput of the engine on the fixed `dssm-ref` model of issue 2
 * (see src/models/dssmRef.ts), single- or multi-threaded. Prints one JSON line with --json; the
 * figures in BENCHMARKS.md come from this command. Timing covers the measured steps only: batches are
 * generated before the clock starts and warm-up steps (JIT, buffer pools) are excluded. Both the
 * wall-clock rate and the rate per CPU-second (process.cpuUsage, all threads) are reported: on a
 * shared machine the second is the stable one, and bench/vs-torch/run.mjs compares it with PyTorch's.
 */

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Command } from 'commander';
import { getKernels } from '../../engine/kernels/index.js';
import type { ParamStore } from '../../engine/nn.js';
import { Adam, SparseAdam } from '../../engine/optim.js';
import { ParallelTrainer } from '../../engine/parallel.js';
import { Rng } from '../../engine/rng.js';
import { DSSM_REF, dssmRefColumns, dssmRefFactory, randomDssmBatches } from '../../models/dssmRef.js';
import { runKdrec } from '../kdrecChild.js';
import { registerParity } from './benchParity.js';

interface BenchTrainOptions {
  model: string;
  batch: string;
  threads: string;
  steps: string;
  warmup: string;
  pool?: string;
  seed: string;
  json?: boolean;
}

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
  /** Samples per CPU-second (all threads): the work per sample, independent of waiting for a core. */
  samplesPerCpuSec: number;
  /**
   * The same figure under the key bench/vs-torch/run.mjs reads from both sides (the PyTorch script
   * reports `cpuSamplesPerSec` too), so that script prints the CPU-time ratio itself.
   */
  cpuSamplesPerSec: number;
  kernels: string;
  parameters: number;
  finalLoss: number;
  node: string;
  cpu: string;
}

function positiveInt(flag: string, v: string, min = 1): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag} must be an integer ≥ ${min}, got '${v}'`);
  return n;
}

export async function benchTrain(opts: {
  model: string;
  batch: number;
  threads: number;
  steps: number;
  warmup: number;
  pool: number;
  seed: number;
}): Promise<BenchTrainResult> {
  if (opts.model !== 'dssm-ref')
    throw new Error(`--model: unknown model '${opts.model}' (available: dssm-ref)`);
  const cfg = { ...DSSM_REF, seed: opts.seed };
  const batches = randomDssmBatches(cfg, opts.batch, opts.pool, new Rng(opts.seed).fork('bench-data'));
  const trainer = await ParallelTrainer.create({
    factory: dssmRefFactory(cfg),
    threads: opts.threads,
    columns: dssmRefColumns(cfg),
    maxRows: opts.batch,
    seed: opts.seed,
    makeOptimizers: (store: ParamStore) => ({
      dense: new Adam(store.params(), { lr: 1e-3 }),
      sparse: new SparseAdam(store.tables(), { lr: 1e-3 }),
    }),
  });
  try {
    let loss = 0;
    for (let s = 0; s < opts.warmup; s++) loss = trainer.step(batches[s % batches.length]!);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let s = 0; s < opts.steps; s++) loss = trainer.step(batches[(opts.warmup + s) % batches.length]!);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const samplesPerCpuSec = Math.round((opts.steps * opts.batch * 1000) / cpuMs);
    return {
      model: opts.model,
      batch: opts.batch,
      threads: opts.threads,
      steps: opts.steps,
      warmupSteps: opts.warmup,
      samplesPerSec: Math.round((opts.steps * opts.batch * 1000) / ms),
      msPerStep: Number((ms / opts.steps).toFixed(2)),
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      cpuUtilization: Number((cpuMs / ms).toFixed(2)),
      samplesPerCpuSec,
      cpuSamplesPerSec: samplesPerCpuSec,
      kernels: getKernels().name,
      parameters: trainer.model.store.count(),
      finalLoss: Number(loss.toFixed(5)),
      node: process.version,
      cpu: cpus()[0]?.model.trim() ?? 'unknown',
    };
  } finally {
    await trainer.close();
  }
}

export function register(program: Command): void {
  const bench = program
    .command('bench')
    .description('Benchmarks (throughput of the engine); see BENCHMARKS.md.');
  bench
    .command('train')
    .description(
      'Train the reference two-tower model dssm-ref (issue 2) on uniform random ids and labels (10% positives) ' +
        'with Adam lr 1e-3 (lazy Adam for the embedding tables) and report samples/s. Batches are generated ' +
        'before timing; warm-up steps are not timed. --threads N uses synchronous data-parallel workers. ' +
        'KDREC_KERNELS=js|wasm|native picks the kernel provider.',
    )
    .option('--model <name>', 'benchmark model', 'dssm-ref')
    .option('--batch <n>', 'batch size (rows)', '1024')
    .option('--threads <n>', 'data-parallel threads', '1')
    .option('--steps <n>', 'timed training steps', '30')
    .option('--warmup <n>', 'untimed warm-up steps', '5')
    .option(
      '--pool <n>',
      'distinct pre-generated batches, reused round-robin (default: one per step, warm-up included)',
    )
    .option('--seed <n>', 'seed for the model and the data', '1')
    .option('--json', 'print one JSON line')
    .addHelpText(
      'after',
      '\nExamples:\n  kdrec bench train --model dssm-ref --batch 1024 --json\n' +
        '  kdrec bench train --model dssm-ref --batch 1024 --threads 2 --steps 50 --json\n' +
        '  KDREC_KERNELS=wasm kdrec bench train --json',
    )
    .action(async (o: BenchTrainOptions) => {
      const r = await benchTrain({
        model: o.model,
        batch: positiveInt('--batch', o.batch),
        threads: positiveInt('--threads', o.threads),
        steps: positiveInt('--steps', o.steps),
        warmup: positiveInt('--warmup', o.warmup, 0),
        // One batch per step by default: reusing a small pool lets the model memorise it, the loss
        // falls towards 1e-6 within ~150 steps and backward then computes on subnormal gradients,
        // several times slower (native, 1 thread, pool 8: 7.4 ms/step at first, 30-40 ms/step
        // after 200 steps), which measures float assists, not the engine.
        pool:
          o.pool === undefined
            ? positiveInt('--steps', o.steps) + positiveInt('--warmup', o.warmup, 0)
            : positiveInt('--pool', o.pool),
        seed: positiveInt('--seed', o.seed, 0),
      });
      if (o.json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        return;
      }
      process.stdout.write(
        `${r.model}: ${r.samplesPerSec} samples/s (${r.msPerStep} ms/step, batch ${r.batch}, ${r.threads} thread(s), ` +
          `kernels ${r.kernels}), peak RSS ${r.peakRssMiB} MiB, ${r.parameters} parameters, final loss ${r.finalLoss}\n`,
      );
    });
  registerParity(bench);
  bench
    .command('stream')
    .description(
      'Out-of-core training benchmark (issue 15): simulate N events to partitioned Parquet in a temporary folder, ' +
        'prepare them, train a dssm-ref-sized two-tower student for one epoch streamed from Parquet, and the same ' +
        'model on the same rows in memory when N <= --in-memory-max. Prints samples/s of both and the peak RSS of ' +
        'the streamed training process (each phase runs as its own process).',
    )
    .requiredOption('--events <n>', 'events to simulate')
    .option('--users <n>', 'simulated users (dssm-ref: 100,000)', '100000')
    .option('--items <n>', 'simulated items (dssm-ref: 200,000)', '200000')
    .option('--threads <n>', 'training threads', '1')
    .option(
      '--max-valid-rows <n>',
      'validation rows scored at the end (held constant across sizes)',
      '1000000',
    )
    .option('--in-memory-max <n>', 'largest N also trained in memory', '10000000')
    .option('--runs <n>', 'training runs of each kind, alternated; the medians are reported', '1')
    .option('--dir <dir>', 'work folder (default: a new temporary folder)')
    .option('--keep', 'keep the work folder')
    .option('--json', 'print one JSON line')
    .addHelpText(
      'after',
      '\nExamples:\n  kdrec bench stream --events 1000000 --json\n  kdrec bench stream --events 100000000 --dir /data/bench --json',
    )
    .action(
      async (o: {
        events: string;
        users: string;
        items: string;
        threads: string;
        maxValidRows: string;
        inMemoryMax: string;
        runs: string;
        dir?: string;
        keep?: boolean;
        json?: boolean;
      }) => {
        const r = await benchStream({
          events: positiveInt('--events', o.events),
          users: positiveInt('--users', o.users),
          items: positiveInt('--items', o.items),
          threads: positiveInt('--threads', o.threads),
          maxValidRows: positiveInt('--max-valid-rows', o.maxValidRows),
          inMemoryMax: positiveInt('--in-memory-max', o.inMemoryMax, 0),
          runs: positiveInt('--runs', o.runs),
          ...(o.dir !== undefined ? { dir: o.dir } : {}),
          keep: o.keep ?? false,
          ...(o.json ? {} : { log: (m: string) => process.stderr.write(`${m}\n`) }),
        });
        if (o.json) {
          process.stdout.write(`${JSON.stringify(r)}\n`);
          return;
        }
        const mib = (b: number) => `${Math.round(b / 2 ** 20)} MiB`;
        process.stdout.write(
          `${r.events} events: streamed ${r.samplesPerSec} samples/s, peak RSS ${mib(r.peakRssBytes)} ` +
            `(parameters + optimiser ${mib(r.parameterAndOptimizerBytes)}); ` +
            (r.inMemorySamplesPerSec !== null
              ? `in memory ${r.inMemorySamplesPerSec} samples/s, peak RSS ${mib(r.inMemoryPeakRssBytes!)}; `
              : '') +
            `epoch ${r.epochSeconds} s, simulate ${r.simulateSeconds} s, prepare ${r.prepareSeconds} s\n`,
        );
      },
    );
}

export interface BenchStreamResult {
  events: number;
  /** Streamed training, samples/s outside validation (final.json trainSamplesPerSec); median of runs. */
  samplesPerSec: number;
  /** The same model on the same prepared rows loaded into memory (null above --in-memory-max); median. */
  inMemorySamplesPerSec: number | null;
  /** Every run's figures, streamed and in memory alternating (streamed first). */
  runs: { samplesPerSec: number[]; inMemorySamplesPerSec: number[] };
  /** Peak RSS of the streamed training process. */
  peakRssBytes: number;
  inMemoryPeakRssBytes: number | null;
  /** The model's weights, gradients and Adam's two moments: 4 float32 per parameter. */
  parameterAndOptimizerBytes: number;
  parameters: number;
  trainRows: number;
  /** Wall seconds of the streamed epoch (training plus the final validation). */
  epochSeconds: number;
  simulateSeconds: number;
  prepareSeconds: number;
  preparePeakRssBytes: number;
  threads: number;
  kernels: string;
  dir: string | null;
}

/**
 * `kdrec bench stream`: simulate N events to partitioned Parquet, prepare them, train a
 * dssm-ref-sized two-tower student (embeddings 32, towers 256-128-64, batch 1024, Adam 1e-3) for one
 * epoch streamed from the Parquet row groups, and — for N up to --in-memory-max — the same model on
 * the same rows loaded into memory. Each phase is its own `kdrec` process, so each peak RSS is that
 * phase's alone (simulation and DuckDB's preparation do not inflate the training figure).
 */
export async function benchStream(opts: {
  events: number;
  users: number;
  items: number;
  threads: number;
  maxValidRows: number;
  inMemoryMax: number;
  /** Training runs of each kind, alternated (the machine's load moves by ±25%: compare medians). */
  runs: number;
  dir?: string;
  keep: boolean;
  log?: (msg: string) => void;
}): Promise<BenchStreamResult> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'kdrec-bench-stream-'));
  mkdirSync(dir, { recursive: true });
  const run = (what: string, args: string[]): string => runKdrec(`bench stream: ${what}`, args, opts.log);
  try {
    let t = performance.now();
    run('simulate', [
      'simulate',
      '--format',
      'parquet',
      '--events',
      String(opts.events),
      '--users',
      String(opts.users),
      '--items',
      String(opts.items),
      '--out',
      join(dir, 'sim'),
      '--quiet',
    ]);
    const simulateSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    const prep = JSON.parse(
      run('prepare', [
        'data',
        'prepare',
        '--dataset',
        `sim:${join(dir, 'sim')}`,
        '--out',
        join(dir, 'prep'),
        '--json',
        '--quiet',
      ]),
    ) as { splitRows: Record<string, number>; peakRssBytes: number };
    const prepareSeconds = (performance.now() - t) / 1000;
    const trainOnce = (name: string, stream: boolean) => {
      const cfg = join(dir, `${name}.yaml`);
      writeFileSync(
        cfg,
        [
          `name: ${name}`,
          'seed: 1',
          `threads: ${opts.threads}`,
          `dataset: { spec: 'prepared:${join(dir, 'prep')}', stream: ${stream}, maxValidRows: ${opts.maxValidRows} }`,
          'mode: student',
          'student: { type: two-tower, embeddingDim: 32, userHidden: [256, 128, 64], itemHidden: [256, 128, 64] }',
          'optimizer: { lr: 0.001 }',
          'batchSize: 1024',
          'epochs: 1',
        ].join('\n'),
      );
      const runDir = join(dir, `run-${name}`);
      rmSync(runDir, { recursive: true, force: true });
      run(`train (${name})`, ['train', '--config', cfg, '--run-dir', runDir, '--quiet']);
      return JSON.parse(readFileSync(join(runDir, 'final.json'), 'utf8')) as {
        trainSamplesPerSec: number;
        wallSeconds: number;
        peakRssBytes: number;
        parameters: number;
      };
    };
    const streams: ReturnType<typeof trainOnce>[] = [];
    const mems: ReturnType<typeof trainOnce>[] = [];
    for (let k = 0; k < opts.runs; k++) {
      streams.push(trainOnce('stream', true));
      if (opts.events <= opts.inMemoryMax) mems.push(trainOnce('memory', false));
    }
    const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) / 2)]!;
    const streamed = streams[0]!;
    return {
      events: opts.events,
      samplesPerSec: median(streams.map((r) => r.trainSamplesPerSec)),
      inMemorySamplesPerSec: mems.length ? median(mems.map((r) => r.trainSamplesPerSec)) : null,
      runs: {
        samplesPerSec: streams.map((r) => r.trainSamplesPerSec),
        inMemorySamplesPerSec: mems.map((r) => r.trainSamplesPerSec),
      },
      peakRssBytes: Math.max(...streams.map((r) => r.peakRssBytes)),
      inMemoryPeakRssBytes: mems.length ? Math.max(...mems.map((r) => r.peakRssBytes)) : null,
      parameterAndOptimizerBytes: streamed.parameters * 16,
      parameters: streamed.parameters,
      trainRows: prep.splitRows['train']!,
      epochSeconds: Number(streamed.wallSeconds.toFixed(1)),
      simulateSeconds: Number(simulateSeconds.toFixed(1)),
      prepareSeconds: Number(prepareSeconds.toFixed(1)),
      preparePeakRssBytes: prep.peakRssBytes,
      threads: opts.threads,
      kernels: getKernels().name,
      dir: opts.keep ? dir : null,
    };
  } finally {
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }
}
