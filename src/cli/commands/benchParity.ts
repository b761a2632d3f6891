/**
 * `kdrec bench parity --ranks N`: distributed training against one process (issue 16). A
 * dssm-ref-sized two-tower student (embeddings 32, towers 256-128-64, batch 1024, Adam 1e-3, as in
 * `bench stream`) trains for --steps steps on a simulated, prepared dataset:
 * - as one process on the N-rank job's global batches, each step on one batch of B rows
 *   (`kdrec train --interleave N --interleave-concat`);
 * - as one process computing each step as the N ranks do (`--interleave N`: the parts' gradients
 *   summed in rank order);
 * - under `mpirun -np N` (every rank reads its shard, B/N rows a step);
 * and the step-S checkpoints are compared (src/train/parity.ts): the first pair measures how far
 * float reassociation moves the result, the second whether the exchange is exact. Throughput is measured on
 * separate, longer runs (--speed-steps): one process on 1 thread, one process on N threads (the
 * threaded trainer), and N MPI ranks; each is its own process, the rate excludes validation.
 * `bytesPerStep` is the payload one rank hands to MPI per step (final.json `distributed`).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { getKernels } from '../../engine/kernels/index.js';
import { checkpointParamDiff } from '../../train/parity.js';
import { runKdrec } from '../kdrecChild.js';

export interface BenchParityResult {
  ranks: number;
  /**
   * max over tensors of ‖a − b‖₂ / ‖a‖₂ after `steps` steps: N ranks against one process training
   * on the same global batches, each as one batch of B rows (`--interleave N --interleave-concat`).
   */
  maxRelParamDiff: number;
  maxRelParamDiffTensor: string;
  /** max over tensors of ‖a − b‖∞ / ‖a‖∞ (the worst single element). */
  maxRelParamDiffInf: number;
  maxRelParamDiffInfTensor: string;
  /**
   * The same against the single process that computes each step as the N ranks do (their parts'
   * gradients summed in rank order, `--interleave N`): max of both norms. 0 = bit-identical.
   */
  maxRelParamDiffAccumulated: number;
  /** Validation AUC after `steps` steps of each run (the same model quality is the point). */
  validAuc: { wholeBatch: number | null; accumulated: number | null; ranks: number | null };
  /** One process, 1 thread, samples/s (median of --runs). */
  samplesPerSec1: number;
  /** N MPI ranks, samples/s of the job (global batch rows per second). */
  samplesPerSec2: number;
  /** One process on N threads (the threaded data-parallel trainer). */
  samplesPerSecThreads: number;
  bytesPerStep: number;
  denseBytesPerStep: number;
  sparseBytesPerStep: number;
  controlBytesPerStep: number;
  /** Seconds per step of the 1-thread process (the compute a rank's step projects from). */
  secondsPerStep1: number;
  parameters: number;
  steps: number;
  speedSteps: number;
  optimizer: string;
  kernels: string;
}

interface Final {
  last?: { valid?: { student?: Record<string, { auc?: number }> } };
  trainSamplesPerSec: number;
  parameters: number;
  steps: number;
  distributed?: Record<string, number>;
}

function aucOf(f: Final): number | null {
  const m = Object.values(f.last?.valid?.student ?? {})[0];
  return m?.auc ?? null;
}

export async function benchParity(opts: {
  ranks: number;
  steps: number;
  speedSteps: number;
  runs: number;
  optimizer: 'adam' | 'adagrad';
  events: number;
  log?: (m: string) => void;
}): Promise<BenchParityResult> {
  const dir = mkdtempSync(join(tmpdir(), 'kdrec-bench-parity-'));
  const N = opts.ranks;
  const mpirun = ['mpirun', '--oversubscribe', ...(process.getuid?.() === 0 ? ['--allow-run-as-root'] : [])];
  mpirun.push('-np', String(N));
  const kd = (what: string, args: string[], launcher: string[] = []) =>
    runKdrec(`bench parity: ${what}`, args, opts.log, launcher);
  try {
    const sim = join(dir, 'sim');
    const prep = join(dir, 'prep');
    // dssm-ref's vocabularies (100,000 users, 200,000 items).
    kd(
      'simulate',
      ['simulate', '--format', 'parquet', '--events', String(opts.events)].concat([
        '--users',
        '100000',
        '--items',
        '200000',
        '--out',
        sim,
        '--quiet',
      ]),
    );
    kd('prepare', ['data', 'prepare', '--dataset', `sim:${sim}`, '--out', prep, '--quiet']);
    const optimizer =
      opts.optimizer === 'adam'
        ? 'optimizer: { lr: 0.001 }'
        : 'optimizer: { dense: adagrad, sparse: sparse_adagrad, lr: 0.01 }';
    const config = (name: string, steps: number, threads = 1) => {
      const path = join(dir, `${name}.yaml`);
      writeFileSync(
        path,
        [
          `name: ${name}`,
          'seed: 1',
          `threads: ${threads}`,
          `dataset: { spec: 'prepared:${prep}', stream: true, maxValidRows: 20000 }`,
          'mode: student',
          'student: { type: two-tower, embeddingDim: 32, userHidden: [256, 128, 64], itemHidden: [256, 128, 64] }',
          optimizer,
          'batchSize: 1024',
          `steps: ${steps}`,
          'evalEvery: 0',
          `checkpointEvery: ${steps}`,
        ].join('\n'),
      );
      return path;
    };
    const train = (what: string, cfg: string, flags: string[] = [], launcher: string[] = []): Final => {
      const run = join(dir, `run-${what}`);
      rmSync(run, { recursive: true, force: true });
      kd(what, ['train', '--config', cfg, '--run-dir', run, '--quiet', ...flags], launcher);
      return JSON.parse(readFileSync(join(run, 'final.json'), 'utf8')) as Final;
    };
    const ckpt = (what: string) =>
      join(dir, `run-${what}`, 'checkpoints', `step-${String(opts.steps).padStart(9, '0')}.safetensors`);

    const parityCfg = config('parity', opts.steps);
    const whole = train('whole-batch', parityCfg, ['--interleave', String(N), '--interleave-concat']);
    const accumulated = train('accumulated', parityCfg, ['--interleave', String(N)]);
    const job = train('ranks', parityCfg, [], mpirun);
    const diff = checkpointParamDiff(ckpt('whole-batch'), ckpt('ranks'));
    const diffAcc = checkpointParamDiff(ckpt('accumulated'), ckpt('ranks'));

    const speed1 = config('speed1', opts.speedSteps);
    const speedT = config('speedT', opts.speedSteps, N);
    const one: Final[] = [];
    const threads: Final[] = [];
    const ranks: Final[] = [];
    for (let k = 0; k < opts.runs; k++) {
      // Alternated, so that a change in the machine's load hits all three alike.
      one.push(train('speed-1', speed1));
      threads.push(train('speed-threads', speedT));
      ranks.push(train('speed-ranks', speed1, [], mpirun));
    }
    const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) / 2)]!;
    const sps = (a: Final[]) => median(a.map((f) => f.trainSamplesPerSec));
    const d = job.distributed ?? {};
    const s1 = sps(one);
    return {
      ranks: N,
      maxRelParamDiff: diff.maxRelL2,
      maxRelParamDiffTensor: diff.maxRelL2Tensor,
      maxRelParamDiffInf: diff.maxRelInf,
      maxRelParamDiffInfTensor: diff.maxRelInfTensor,
      maxRelParamDiffAccumulated: Math.max(diffAcc.maxRelL2, diffAcc.maxRelInf),
      validAuc: { wholeBatch: aucOf(whole), accumulated: aucOf(accumulated), ranks: aucOf(job) },
      samplesPerSec1: s1,
      samplesPerSec2: sps(ranks),
      samplesPerSecThreads: sps(threads),
      bytesPerStep: d['bytesPerStep'] ?? 0,
      denseBytesPerStep: d['denseBytesPerStep'] ?? 0,
      sparseBytesPerStep: d['sparseBytesPerStep'] ?? 0,
      controlBytesPerStep: d['controlBytesPerStep'] ?? 0,
      secondsPerStep1: Number((1024 / Math.max(1, s1)).toFixed(5)),
      parameters: job.parameters,
      steps: opts.steps,
      speedSteps: opts.speedSteps,
      optimizer: opts.optimizer,
      kernels: getKernels().name,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function positive(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got '${v}'`);
  return n;
}

export function registerParity(bench: Command): void {
  bench
    .command('parity')
    .description(
      'Distributed parity (issue 16): train a dssm-ref-sized two-tower student for --steps steps as one process ' +
        'reading the global batches of an N-rank job and under `mpirun -np N`, compare the parameters, and ' +
        'measure samples/s of 1 process, N threads and N ranks and the bytes one rank sends per step. Needs mpirun ' +
        'and the MPI addon (kdrec doctor).',
    )
    .option('--ranks <n>', 'MPI ranks', '2')
    .option('--steps <n>', 'steps before the parameters are compared', '50')
    .option('--speed-steps <n>', 'steps of each throughput run', '300')
    .option('--runs <n>', 'throughput runs of each kind (alternated; medians reported)', '3')
    .option('--optimizer <name>', 'adam (dssm-ref) or adagrad', 'adam')
    .option('--events <n>', 'simulated events', '600000')
    .option('--json', 'print one JSON line')
    .addHelpText('after', '\nExample:\n  kdrec bench parity --ranks 2 --json\n')
    .action(
      async (o: {
        ranks: string;
        steps: string;
        speedSteps: string;
        runs: string;
        optimizer: string;
        events: string;
        json?: boolean;
      }) => {
        if (o.optimizer !== 'adam' && o.optimizer !== 'adagrad')
          throw new Error(`--optimizer must be adam or adagrad, got '${o.optimizer}'`);
        const ranks = positive('--ranks', o.ranks);
        if (ranks < 2) throw new Error('--ranks must be at least 2');
        const r = await benchParity({
          ranks,
          steps: positive('--steps', o.steps),
          speedSteps: positive('--speed-steps', o.speedSteps),
          runs: positive('--runs', o.runs),
          optimizer: o.optimizer,
          events: positive('--events', o.events),
          ...(o.json ? {} : { log: (m: string) => process.stderr.write(`${m}\n`) }),
        });
        if (o.json) {
          process.stdout.write(`${JSON.stringify(r)}\n`);
          return;
        }
        process.stdout.write(
          `${r.ranks} ranks vs 1 process after ${r.steps} steps: max relative parameter difference ` +
            `${r.maxRelParamDiff.toExponential(2)} (L2, ${r.maxRelParamDiffTensor}), ` +
            `${r.maxRelParamDiffInf.toExponential(2)} (max-abs, ${r.maxRelParamDiffInfTensor}); against the ` +
            `rank-ordered single process ${r.maxRelParamDiffAccumulated.toExponential(2)}; samples/s: ` +
            `1 process ${r.samplesPerSec1}, ${r.ranks} threads ${r.samplesPerSecThreads}, ${r.ranks} ranks ` +
            `${r.samplesPerSec2}; ${r.bytesPerStep} bytes/step sent by one rank\n`,
        );
      },
    );
}
