/**
 * `kdrec experiment --dataset SPEC --out DIR [--seeds N] [--config FILE]`: the distillation matrix
 * (teacher, popularity, plain and every distilled student of the config, N seeds) on one dataset;
 * writes DIR/results.json, DIR/report.html and DIR/report.md and prints the comparison table.
 * Re-running the same command resumes: finished cells under DIR/cells/ are not retrained.
 */
import { join } from 'node:path';
import { MultiBar, type SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import {
  type CellInfo,
  type CellRecord,
  defaultExperimentConfigPath,
  type ExperimentEvents,
  type ExperimentMatrixConfig,
  loadExperimentConfig,
  runExperiment,
} from '../../eval/experiment.js';
import { writeReport } from '../../eval/report/report.js';
import { comparisonTable, formatTable } from '../../eval/report/table.js';
import { type Results, writeResults } from '../../eval/results.js';
import type { TrainProgress } from '../../train/trainer.js';
import { intOption } from '../intOption.js';
import { warnIfOversubscribed } from '../threads.js';

function cellSummary(record: CellRecord, primary: string | undefined): string {
  const keys = [primary, 'AUC'].filter((k, i, a): k is string => k !== undefined && a.indexOf(k) === i);
  const parts = keys.filter((k) => k in record.metrics).map((k) => `${k} ${record.metrics[k]!.toFixed(4)}`);
  return `${record.trainSeconds.toFixed(1)} s · ${parts.join(' · ')}`;
}

/**
 * Progress on stderr: one bar per (model, seed) cell on a terminal (bars stay, each ending with the
 * cell's time and headline metrics); one plain line per finished cell otherwise (CI logs, pipes).
 */
export function experimentReporter(
  quiet: boolean,
  primaryMetric?: string,
): ExperimentEvents & { stop(): void } {
  const tty = process.stderr.isTTY === true && !quiet;
  let multi: MultiBar | null = null;
  const bars = new Map<string, SingleBar>();
  const label = (c: CellInfo) => `${c.model} s${c.seed}`.padEnd(16);
  const write = (line: string) => {
    if (quiet) return;
    if (multi !== null) multi.log(`${line}\n`);
    else process.stderr.write(`${line}\n`);
  };
  const bar = (c: CellInfo, total: number) => {
    const id = `${c.model}/${c.seed}`;
    let b = bars.get(id);
    if (b === undefined) {
      multi ??= new MultiBar({
        format: '{label} [{bar}] {value}/{total} {status}',
        stream: process.stderr,
        barsize: 24,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
      });
      b = multi.create(Math.max(1, total), 0, { label: label(c), status: '' });
      bars.set(id, b);
    }
    return b;
  };
  return {
    log: write,
    cellStart(c) {
      if (!tty) write(`[${c.index}/${c.count}] ${c.model} (seed ${c.seed}) …`);
    },
    progress(c: CellInfo, p: TrainProgress) {
      if (!tty) return;
      bar(c, p.totalSteps).update(p.step, {
        status: `steps | ${Math.round(p.samplesPerSec)} samples/s | ETA ${Math.round(p.etaSeconds)} s`,
      });
    },
    cellEnd(c, record, reused) {
      const summary = `${reused ? 'reused from cells/' : 'done'} · ${cellSummary(record, primaryMetric)}`;
      if (tty) {
        const total = record.training?.steps ?? 1;
        bar(c, total).update(total, { status: summary });
      } else {
        write(`[${c.index}/${c.count}] ${c.model} (seed ${c.seed}) ${summary}`);
      }
    },
    stop() {
      if (multi !== null) (multi as MultiBar).stop();
      multi = null;
    },
  };
}

export interface ExperimentRun {
  dataset: string;
  outDir: string;
  seeds: number;
  config: ExperimentMatrixConfig;
  configFile: string;
  quiet: boolean;
  /** Data-parallel training threads per cell. */
  threads?: number;
}

/** Runs the matrix with progress output, writes results.json and the report, prints the table. */
export async function runAndReport(run: ExperimentRun): Promise<Results> {
  const t0 = performance.now();
  if (run.threads !== undefined) warnIfOversubscribed(run.threads);
  const rep = experimentReporter(run.quiet, run.config.primaryMetric);
  let outcome: Awaited<ReturnType<typeof runExperiment>>;
  try {
    outcome = await runExperiment({
      dataset: run.dataset,
      outDir: run.outDir,
      seeds: Array.from({ length: run.seeds }, (_, i) => i + 1),
      config: run.config,
      configFile: run.configFile,
      events: rep,
      ...(run.threads !== undefined ? { threads: run.threads } : {}),
    });
  } finally {
    rep.stop();
  }
  const { results } = outcome;
  const resultsPath = join(run.outDir, 'results.json');
  writeResults(resultsPath, results);
  const paths = await writeReport(run.outDir, results);
  const table = formatTable(comparisonTable(results, { metrics: terminalMetrics(results) }));
  const protocol = (results.config['evaluation'] as { protocol?: string } | undefined)?.protocol;
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(
    `\n${results.dataset.name} · ${results.seeds.length} seed${results.seeds.length > 1 ? 's' : ''}` +
      (results.primaryMetric ? ` · primary metric ${results.primaryMetric}` : '') +
      `\n\n${table}\n\n` +
      (protocol ? `${wrap(`How measured: ${protocol}`, 100)}\n\n` : '') +
      `${outcome.trained} cell(s) trained, ${outcome.reused} reused, ${seconds.toFixed(0)} s.\n` +
      `results: ${resultsPath}\nreport:  ${paths.html}\n         ${paths.markdown}\n`,
  );
  return results;
}

/**
 * The terminal's columns: the primary metric, teacher agreement, ground truth and the headline
 * classification/retrieval metrics (LogLoss, Kendall tau and the rest are in report.md/html).
 */
function terminalMetrics(results: Results): string[] {
  const k = (results.config['evaluation'] as { k?: number } | undefined)?.k ?? 50;
  const want = [
    results.primaryMetric,
    `overlap@${k}`,
    `trueDwell@${k}`,
    'AUC',
    'GAUC',
    `Recall@${k}`,
    `NDCG@${k}`,
  ];
  const present = new Set(results.models.flatMap((m) => Object.keys(m.metrics)));
  return want.filter((m, i): m is string => m !== undefined && present.has(m) && want.indexOf(m) === i);
}

function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('experiment')
    .summary('train the teacher and the matrix of students, evaluate all, write results.json and the report')
    .description(
      'Train the teacher once per seed, then every student of the config (plain, logits-kd, ' +
        'listwise-kd, dmtl, pfd, pfd-md, ...) and the popularity baseline; evaluate all on one fixed ' +
        'test split; write DIR/results.json (metric mean/std over seeds, params, train time, inference ' +
        'cost, config, git commit, data fingerprint), DIR/report.html and DIR/report.md. Re-running ' +
        'resumes: finished cells in DIR/cells/ are reused, not retrained.',
    )
    .requiredOption('--dataset <spec>', 'sim | sim:DIR | movielens-100k:PATH | ali-ccp:PATH | kuairand:PATH')
    .requiredOption('--out <dir>', 'experiment directory (results.json, report.html, cells/)')
    .option('--seeds <n>', 'seeds 1..n', intOption('--seeds'), 3)
    .option('--config <file>', 'matrix config (default: examples/experiment.yaml)')
    .option(
      '--threads <n>',
      'data-parallel training threads per cell (rank-distillation cells use 1)',
      intOption('--threads'),
    )
    .option('--quiet', 'no progress output')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  kdrec experiment --dataset sim --out runs/exp-sim\n' +
        '  kdrec experiment --dataset movielens-100k:../shared/data/movielens-100k --out runs/exp-ml100k --seeds 3\n',
    )
    .action(
      async (o: {
        dataset: string;
        out: string;
        seeds: number;
        config?: string;
        threads?: number;
        quiet?: boolean;
      }) => {
        const configFile = o.config ?? defaultExperimentConfigPath();
        await runAndReport({
          dataset: o.dataset,
          outDir: o.out,
          seeds: o.seeds,
          config: loadExperimentConfig(configFile),
          configFile,
          quiet: o.quiet ?? false,
          ...(o.threads !== undefined ? { threads: o.threads } : {}),
        });
      },
    );
}
