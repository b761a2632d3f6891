/**
 * `kdrec train --config FILE`: validates an experiment config (every problem printed with its path),
 * trains the mode it declares and writes a run directory (config copy, checkpoints, metrics.jsonl,
 * final.json). The progress bar shows step, samples/s, each loss term and the ETA.
 */
import { appendFileSync } from 'node:fs';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { parseShard } from '../../data/stream.js';
import type { Mpi } from '../../engine/mpi.js';
import { auc } from '../../eval/metrics/auc.js';
import { type ExperimentConfig, loadConfig } from '../../run/config.js';
import { configHash, mpiTraining } from '../../train/distributed.js';
import { type RunOptions, type RunResult, runFromConfig } from '../../train/run.js';
import type { EvalRecord, TrainProgress } from '../../train/trainer.js';
import { intOption } from '../intOption.js';
import { joinMpiJob } from '../mpiJob.js';
import { warnIfOversubscribed } from '../threads.js';

/** Short loss-term labels for the bar: `kd0.bce_soft(ctr<-ctr)` → `kd0`, `teacher.hard.ctr` → `T.ctr`. */
function shortTerm(name: string): string {
  if (name.startsWith('kd')) return name.slice(0, name.indexOf('.'));
  return name.replace(/^teacher\.hard\./, 'T.').replace(/^student\.hard\./, 'S.');
}

function fmt(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3);
}

/** Progress and eval callbacks that draw a bar on stderr (or nothing with --quiet / no TTY). */
export function progressReporter(
  label: string,
  quiet: boolean,
): Pick<RunOptions, 'onProgress' | 'onEval' | 'log'> & { stop(): void } {
  const tty = process.stderr.isTTY && !quiet;
  let bar: SingleBar | null = null;
  const onProgress = (p: TrainProgress) => {
    if (!tty) return;
    if (bar === null) {
      bar = new SingleBar({
        format: `${label} [{bar}] {value}/{total} | {sps} samples/s | {losses} | λ {lambda} | ETA {eta_formatted}`,
        stream: process.stderr,
        barsize: 20,
        etaBuffer: 50,
      });
      bar.start(p.totalSteps, 0, { sps: 0, losses: '', lambda: 0 });
    }
    const losses = Object.entries(p.losses)
      .filter(([k]) => k !== 'total')
      .map(([k, v]) => `${shortTerm(k)} ${fmt(v)}`)
      .join(' ');
    bar.update(p.step, { sps: Math.round(p.samplesPerSec), losses, lambda: fmt(p.lambda) });
  };
  const onEval = (r: EvalRecord) => {
    if (quiet) return;
    const parts: string[] = [];
    for (const role of ['teacher', 'student'] as const) {
      for (const [o, m] of Object.entries(r.valid[role] ?? {})) {
        parts.push(
          `${role}.${o} auc ${m.auc !== undefined ? m.auc.toFixed(4) : '-'} logloss ${m.logloss.toFixed(4)}`,
        );
      }
    }
    const line = `step ${r.step}${r.selectable ? '' : ' (warm-up)'}: ${parts.join(' | ') || 'no validation set'}`;
    if (bar !== null) (bar as SingleBar).stop();
    bar = null;
    process.stderr.write(`${line}\n`);
  };
  return {
    onProgress,
    onEval,
    log: (msg: string) => {
      if (!quiet) process.stderr.write(`${msg}\n`);
    },
    stop: () => {
      if (bar !== null) (bar as SingleBar).stop();
      bar = null;
    },
  };
}

/** The config with `--threads` applied (the flag wins over the file). */
export function withThreads(cfg: ExperimentConfig, threads: number | undefined): ExperimentConfig {
  return threads === undefined ? cfg : { ...cfg, threads };
}

/** One-line summary of a finished run, on stdout. */
export function printSummary(res: RunResult): void {
  const f = res.final;
  const sel = f.selected;
  const metrics: string[] = [];
  for (const role of ['teacher', 'student'] as const) {
    for (const [o, m] of Object.entries(sel?.valid[role] ?? {})) {
      if (m.auc !== undefined) metrics.push(`${role}.${o} AUC ${m.auc.toFixed(4)}`);
    }
  }
  process.stdout.write(
    `${f.mode}: ${f.steps - f.resumedFrom} steps in ${f.wallSeconds.toFixed(1)} s (${f.samplesPerSec} samples/s` +
      (f.ranks > 1 ? `, ${f.ranks} MPI ranks)` : f.threads > 1 ? `, ${f.threads} threads)` : ')') +
      (f.resumedFrom > 0 ? ` after resuming at step ${f.resumedFrom}` : '') +
      (f.selectedStep !== null ? `; selected step ${f.selectedStep}: ${metrics.join(', ')}` : '') +
      (f.teacherUnderfitAtSelection ? ' [teacher under-fit at the selected step]' : '') +
      (res.runDir !== null ? `\nrun directory: ${res.runDir}` : '') +
      '\n',
  );
}

export function register(program: Command): void {
  program
    .command('train')
    .summary('train teacher and/or student as an experiment config declares; write a run directory')
    .description(
      'Train the models an experiment config declares (mode teacher, student, joint, two-stage, dmtl,\n' +
        'pfd or pfd-md) and write a run directory: config.json, checkpoints/, metrics.jsonl, best.safetensors\n' +
        'and final.json. Every config problem is printed with its path before anything runs.',
    )
    .requiredOption('--config <file>', 'experiment config (.yaml, .yml or .json)')
    .option('--run-dir <dir>', 'run directory (default <outDir>/<name>-<UTC time>)')
    .option('--resume', 'continue the run in --run-dir from its latest checkpoint')
    .option('--teacher-scores <file>', 'two-stage: teacher logits written by `kdrec teacher score`')
    .option(
      '--threads <n>',
      "data-parallel training threads (overrides the config's threads; see README → Data-parallel training)",
      intOption('--threads'),
    )
    .option(
      '--shard <i/n>',
      'train on shard i of n of the training split (prepared datasets: row groups k ≡ i mod n)',
    )
    .option(
      '--interleave <n>',
      'read the global batches of an n-rank MPI job in this one process (the reference a distributed run must equal)',
      intOption('--interleave'),
    )
    .option(
      '--interleave-concat',
      "with --interleave: train on each global batch as one batch of B rows, not as the n ranks' parts summed",
    )
    .option('--quiet', 'no progress bar or per-eval lines')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  kdrec train --config examples/joint-logits.yaml\n' +
        '  kdrec train --config examples/stream.yaml   # a prepared dataset streamed from Parquet\n' +
        '  kdrec train --config examples/pfd.yaml --run-dir runs/pfd-1\n' +
        '  kdrec train --config examples/pfd.yaml --run-dir runs/pfd-1 --resume\n' +
        '  kdrec train --config examples/pfd.yaml --threads 2\n' +
        '  mpirun -np 2 kdrec train --config examples/stream.yaml --run-dir runs/s2   # 2 MPI ranks\n' +
        '  kdrec teacher train --config examples/two-stage.yaml --run-dir runs/ts-teacher\n' +
        '  kdrec teacher score --run runs/ts-teacher --samples recall --out runs/ts-teacher/scores.safetensors\n' +
        '  kdrec train --config examples/two-stage.yaml --teacher-scores runs/ts-teacher/scores.safetensors\n',
    )
    .action((o: TrainFlags) => trainAndPrint('train', (c) => c, o));
}

/** The flags `kdrec train` and `kdrec teacher train` share. */
export interface TrainFlags {
  config: string;
  runDir?: string;
  resume?: boolean;
  teacherScores?: string;
  threads?: number;
  shard?: string;
  interleave?: number;
  interleaveConcat?: boolean;
  quiet?: boolean;
}

/**
 * The sample trace (tests and debugging): with KDREC_TRACE_SAMPLES=FILE every training step appends
 * `STEP id id …` (the batch's sample ids) to FILE before it runs; with KDREC_TRACE_KILL_AT=N as
 * well, the process kills itself with SIGKILL when step N is about to run — a real `kill -9` at a
 * known point, which is how the resume test proves no sample is repeated or skipped.
 */
function sampleTrace(): RunOptions['onBatch'] {
  const file = process.env['KDREC_TRACE_SAMPLES'];
  if (file === undefined || file === '') return undefined;
  const killAt = process.env['KDREC_TRACE_KILL_AT'];
  const kill = killAt !== undefined && killAt !== '' ? Number(killAt) : -1;
  return (step, batch) => {
    if (step === kill) process.kill(process.pid, 'SIGKILL');
    const ids = batch.sampleId;
    if (ids === undefined)
      throw new Error('KDREC_TRACE_SAMPLES: the batches carry no sample ids (a prepared dataset has them)');
    appendFileSync(file, `${step} ${Array.from(ids.subarray(0, batch.size)).join(' ')}\n`);
  };
}

/**
 * Loads the config (with `--threads` applied and then `adapt`), trains it with a progress bar and
 * prints the summary: the body of `kdrec train` and `kdrec teacher train`.
 */
export async function trainAndPrint(
  label: string,
  adapt: (cfg: ExperimentConfig) => ExperimentConfig,
  o: TrainFlags,
): Promise<void> {
  if (o.resume && o.runDir === undefined) throw new Error('--resume needs --run-dir (the run to continue)');
  const cfg = adapt(withThreads(loadConfig(o.config), o.threads));
  // Under mpirun every process is one rank of a data-parallel job (src/train/distributed.ts).
  const mpi: Mpi | null = joinMpiJob(`kdrec ${label}`);
  if (mpi !== null) {
    if (o.shard !== undefined)
      throw new Error('--shard under mpirun: each rank reads its own shard (rank/size); drop --shard');
    if (o.interleave !== undefined)
      throw new Error('--interleave is the single-process reference of an MPI job; run it without mpirun');
  }
  if (o.interleaveConcat && o.interleave === undefined)
    throw new Error('--interleave-concat needs --interleave N');
  if (o.interleave !== undefined && cfg.threads > 1)
    throw new Error(
      `--interleave runs on one thread (the config has threads: ${cfg.threads}; pass --threads 1)`,
    );
  if (mpi !== null) {
    // Every rank must train the same experiment: compared by hash before any data is read.
    mpi.checkSameConfig(configHash(cfg));
  } else {
    warnIfOversubscribed(cfg.threads);
    // Row sharding splits tables over MPI ranks; one process (--interleave included) holds them whole.
    if (cfg.sharding !== 'replicated' && !(o.quiet ?? false))
      process.stderr.write(
        `kdrec ${label}: sharding: ${JSON.stringify(cfg.sharding)} applies to MPI jobs only (mpirun -np N); ` +
          'this single process keeps every table whole\n',
      );
  }
  const root = mpi === null || mpi.rank === 0;
  const rep = progressReporter(label, (o.quiet ?? false) || !root);
  try {
    const trace = sampleTrace();
    const res = await runFromConfig(cfg, {
      ...(o.shard !== undefined ? { shard: parseShard(o.shard) } : {}),
      ...(o.interleave !== undefined ? { interleave: o.interleave } : {}),
      ...(o.interleaveConcat ? { interleaveConcat: true } : {}),
      ...(mpi !== null ? { distributed: mpiTraining(mpi, cfg.seed) } : {}),
      ...(trace !== undefined ? { onBatch: trace } : {}),
      ...(o.runDir !== undefined ? { runDir: o.runDir } : {}),
      resume: o.resume ?? false,
      configFile: o.config,
      ...(o.teacherScores !== undefined ? { teacherScores: o.teacherScores } : {}),
      auc: (y, s) => auc(y, s),
      ...rep,
    });
    rep.stop();
    if (root) printSummary(res);
    // Only on success: a rank that throws exits without finalising, and that aborts the job
    // (src/engine/mpi.ts) instead of leaving its peers waiting in a collective.
    mpi?.finalize();
  } finally {
    rep.stop();
  }
}
