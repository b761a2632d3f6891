/**
 * `kdrec data inspect DIR | --dataset KIND:PATH`: loads a dataset through the same pipeline
 * training uses (split, train-fitted vocabularies, leak-free window features) and prints row
 * counts, label rates and per-group feature cardinalities with OOV counts (issue 3).
 */
import type { Command } from 'commander';
import type { SplitSpec } from '../../data/dataset.js';
import { formatSummary, summarizeDataset } from '../../data/inspect.js';
import { loadDataset, parseDatasetSpec } from '../../data/loaders/index.js';
import { summarizeReports } from '../../data/readers.js';

export interface InspectOptions {
  dataset?: string;
  split: string;
  window?: string;
  skipBadRows?: boolean;
  json?: boolean;
}

/** `--split` values: `time[:TRAIN,VALID]`, `leave-last-out`, `given`. */
export function parseSplitOption(s: string): SplitSpec {
  if (s === 'leave-last-out' || s === 'given') return { kind: s };
  const m = /^time(?::([0-9.]+),([0-9.]+))?$/.exec(s);
  if (!m)
    throw new Error(
      `--split '${s}': expected time, time:TRAIN,VALID (e.g. time:0.8,0.1), leave-last-out or given`,
    );
  return { kind: 'time', train: m[1] ? Number(m[1]) : 0.8, valid: m[2] ? Number(m[2]) : 0.1 };
}

export function register(program: Command): void {
  const data = program.command('data').description('Inspect datasets (see `kdrec data inspect --help`).');
  data
    .command('inspect [dir]')
    .description(
      'Print row counts, label rates and feature cardinalities per group (user, item, context,\n' +
        'privileged) with OOV counts. DIR is a `kdrec simulate --out` directory; other datasets are\n' +
        'given as --dataset KIND:PATH (sim, movielens-100k, ali-ccp, kuairand).',
    )
    .option('--dataset <KIND:PATH>', 'dataset to read, e.g. movielens-100k:../shared/data/movielens-100k')
    .option(
      '--split <spec>',
      "time[:TRAIN,VALID] | leave-last-out | given (default: the dataset's own split, else time:0.8,0.1)",
      '',
    )
    .option('--window <seconds>', 'trailing window of the privileged count features (default 86400)')
    .option('--skip-bad-rows', 'drop malformed rows, count them and print a summary instead of failing')
    .option('--json', 'print one JSON object')
    .addHelpText(
      'after',
      '\nExamples:\n  kdrec simulate --out /tmp/sim && kdrec data inspect /tmp/sim\n' +
        '  kdrec data inspect --dataset movielens-100k:../shared/data/movielens-100k --split leave-last-out',
    )
    .action(async (dir: string | undefined, o: InspectOptions) => {
      process.stdout.write(await inspectText(dir, o));
    });
}

/** What `kdrec data inspect` prints (text or one JSON line), for DIR or --dataset. */
export async function inspectText(dir: string | undefined, o: InspectOptions): Promise<string> {
  if (dir && o.dataset) throw new Error('give either DIR or --dataset, not both');
  if (!dir && !o.dataset) throw new Error('give a simulator output DIR or --dataset KIND:PATH');
  const spec = parseDatasetSpec(o.dataset ?? `sim:${dir}`);
  const windowSeconds = o.window === undefined ? undefined : Number(o.window);
  if (windowSeconds !== undefined && !(windowSeconds > 0)) {
    throw new Error(`--window must be a positive number of seconds, got '${o.window}'`);
  }
  const ds = await loadDataset(spec, {
    ...(o.split ? { split: parseSplitOption(o.split) } : {}),
    ...(windowSeconds ? { windowSeconds } : {}),
    skipBadRows: !!o.skipBadRows,
  });
  const summary = summarizeDataset(ds);
  if (o.json) return `${JSON.stringify(summary)}\n`;
  let text = `${formatSummary(summary)}\n`;
  if (summary.skippedRows) {
    text += `\nbad rows skipped:\n${summarizeReports(ds.stats.reads.filter((r) => r.skipped))}\n`;
  }
  return text;
}
