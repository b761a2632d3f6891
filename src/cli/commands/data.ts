/**
 * `kdrec data inspect DIR | --dataset KIND:PATH`: loads a dataset through the same pipeline
 * training uses (split, train-fitted vocabularies, leak-free window features) and prints row
 * counts, label rates and per-group feature cardinalities with OOV counts (issue 3).
 *
 * `kdrec data prepare --dataset KIND:PATH --out DIR`: the same pipeline in SQL at bounded memory,
 * written as Parquet for streamed training (issue 15, src/data/prepare.ts).
 */
import type { Command } from 'commander';
import type { SplitSpec } from '../../data/dataset.js';
import { formatSummary, summarizeDataset } from '../../data/inspect.js';
import { loadDataset, parseDatasetSpec, prepareDataset } from '../../data/loaders/index.js';
import { summarizeReports } from '../../data/readers.js';
import { readSchemaFile, type SchemaDecl } from '../../data/schema.js';
import { userStateOptionsSchema } from '../../data/userState.js';
import { intOption } from '../intOption.js';

export interface PrepareFlags {
  dataset: string;
  out: string;
  split: string;
  window?: string;
  schema?: string;
  hashBuckets: string[];
  minCount: string[];
  userState?: string;
  rowGroupRows: number;
  partRows: number;
  memoryLimit: string;
  force?: boolean;
  skipBadRows?: boolean;
  quiet?: boolean;
  json?: boolean;
}

/** `FIELD=N` pairs of a repeatable option. */
function fieldInts(flag: string, values: string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const v of values) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(\d+)$/.exec(v.trim());
    if (!m || Number(m[2]) < 1)
      throw new Error(`${flag} '${v}': expected FIELD=N with N >= 1, e.g. user_id=1000000`);
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

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
  const data = program
    .command('data')
    .description(
      'Inspect datasets, and prepare them for streamed training (see `kdrec data inspect|prepare --help`).',
    );
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
  const collect = (v: string, prev: string[]) => [...prev, v];
  data
    .command('prepare')
    .description(
      'Preprocess a dataset for training on logs larger than memory: the split, identities,\n' +
        'train-fitted vocabularies (or hashing), numeric statistics, privileged window counts and\n' +
        'as-of-request user state, computed in SQL by DuckDB with a memory limit (spilling to\n' +
        'OUT/.work) and written as Parquet row groups, so training only decodes. Train on the result\n' +
        'with dataset.spec: prepared:OUT (streamed a window at a time; see README, "Logs larger than memory").',
    )
    .requiredOption('--dataset <KIND:PATH>', 'dataset to prepare, e.g. sim:runs/sim-100m')
    .requiredOption(
      '--out <dir>',
      'output folder (manifest.json, train/valid/test Parquet parts, items, users, vocabularies)',
    )
    .option(
      '--split <spec>',
      "time[:TRAIN,VALID] | leave-last-out | given (default: the dataset's own, else time:0.8,0.1)",
      '',
    )
    .option('--window <seconds>', 'trailing window of the privileged count features (default 86400)')
    .option(
      '--schema <file>',
      "a schema YAML/JSON replacing the loader's (fields may be dropped, hashed or regrouped)",
    )
    .option(
      '--hash-buckets <field=n>',
      'hash FIELD into n buckets instead of a vocabulary (repeatable)',
      collect,
      [],
    )
    .option(
      '--min-count <field=n>',
      'vocabulary cut: ids of FIELD seen fewer than n times in train map to row 0 (repeatable)',
      collect,
      [],
    )
    .option('--user-state <json>', 'add user-state features, e.g. \'{"lastN":20,"windows":["1d","7d"]}\'')
    .option(
      '--row-group-rows <n>',
      'rows per Parquet row group: the unit of shards, shuffles and resume (a multiple of 2048)',
      intOption('--row-group-rows', 2048),
      16_384,
    )
    .option('--part-rows <n>', 'rows per Parquet part file', intOption('--part-rows'), 4_194_304)
    .option('--memory-limit <size>', "DuckDB's memory budget; the rest spills to OUT/.work", '4GB')
    .option('--force', 'replace an existing prepared folder')
    .option('--skip-bad-rows', 'drop malformed rows, count them and print a summary instead of failing')
    .option('--quiet', 'no per-phase timings on stderr')
    .option('--json', 'print the manifest summary as one JSON line')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  kdrec simulate --format parquet --events 10000000 --users 100000 --items 200000 --out runs/sim-10m\n' +
        '  kdrec data prepare --dataset sim:runs/sim-10m --out runs/sim-10m-prep\n' +
        '  kdrec data prepare --dataset sim:runs/sim-10m --out runs/prep-hashed --hash-buckets user_id=65536 --user-state \'{"lastN":20}\'\n',
    )
    .action(async (o: PrepareFlags) => {
      process.stdout.write(await prepareText(o));
    });
}

/** What `kdrec data prepare` prints: a one-line summary (or JSON), after the per-phase timings. */
export async function prepareText(o: PrepareFlags): Promise<string> {
  const windowSeconds = o.window === undefined ? undefined : Number(o.window);
  if (windowSeconds !== undefined && !(windowSeconds > 0))
    throw new Error(`--window must be a positive number of seconds, got '${o.window}'`);
  let userState: ReturnType<typeof userStateOptionsSchema.parse> | undefined;
  if (o.userState !== undefined) {
    let raw: unknown;
    try {
      raw = JSON.parse(o.userState);
    } catch (e) {
      throw new Error(
        `--user-state: not JSON (${(e as Error).message}); e.g. '{"lastN":20,"windows":["1d","7d"]}'`,
      );
    }
    const r = userStateOptionsSchema.safeParse(raw);
    if (!r.success)
      throw new Error(
        `--user-state: ${r.error.issues.map((i) => `${i.path.join('.') || 'value'} ${i.message}`).join('; ')}`,
      );
    userState = r.data;
  }
  const spec = parseDatasetSpec(o.dataset);
  const schema: SchemaDecl | undefined = o.schema !== undefined ? readSchemaFile(o.schema) : undefined;
  const m = await prepareDataset(spec, {
    fieldOverrides: {
      hashBuckets: Object.fromEntries(fieldInts('--hash-buckets', o.hashBuckets)),
      minCount: Object.fromEntries(fieldInts('--min-count', o.minCount)),
    },
    out: o.out,
    ...(o.split ? { split: parseSplitOption(o.split) } : {}),
    ...(windowSeconds !== undefined ? { windowSeconds } : {}),
    ...(schema !== undefined ? { schema } : {}),
    ...(userState !== undefined ? { userState } : {}),
    rowGroupRows: o.rowGroupRows,
    partRows: o.partRows,
    memoryLimit: o.memoryLimit,
    force: !!o.force,
    skipBadRows: !!o.skipBadRows,
    ...(o.quiet ? {} : { log: (msg: string) => process.stderr.write(`${msg}\n`) }),
  });
  const summary = {
    out: o.out,
    rows: m.stats.rows,
    users: m.stats.users,
    items: m.stats.items,
    splitRows: Object.fromEntries(Object.entries(m.splits).map(([k, v]) => [k, v.rows])),
    files: Object.values(m.splits).reduce((a, s) => a + s.files.length, 0),
    rowGroups: Object.values(m.splits).reduce(
      (a, s) => a + s.files.reduce((b, f) => b + f.rowGroups.length, 0),
      0,
    ),
    seconds: m.seconds,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  if (o.json) return `${JSON.stringify(summary)}\n`;
  return (
    `prepared ${o.out}: ${summary.rows} events (train ${summary.splitRows['train']}, valid ${summary.splitRows['valid']}, test ${summary.splitRows['test']}), ` +
    `${summary.users} users, ${summary.items} items; ${summary.files} files, ${summary.rowGroups} row groups; ${m.seconds['total']} s\n`
  );
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
