/**
 * `kdrec index build --export DIR`: the HNSW index over an export's item vectors, saved next to its
 * manifest, with the metric the manifest's score function requires.
 * `kdrec index eval [--export DIR | --synthetic --items N --dim D] [--json]`: recall@100 of HNSW
 * against exact search, and queries/s, for a few ef values.
 * `kdrec index add --export DIR --items FILE` / `kdrec index remove --export DIR --ids a,b`: change
 * the catalogue in place without a rebuild (src/serve/annIndex.ts `updateCatalogue`); a running
 * server picks the new revision up on its next reload (POST /admin/reload or SIGHUP).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type ColumnSpec, DuckDb, sqlId, summarizeReports, type TableSource } from '../../data/readers.js';
import { Schema } from '../../data/schema.js';
import { Rng } from '../../engine/rng.js';
import {
  type CatalogueUpdateReport,
  COMPACT_FRACTION,
  compactCatalogue,
  HNSW_DEFAULTS,
  HnswIndex,
  hasSavedIndex,
  type IndexMetric,
  indexMetaFile,
  LIST_SEPARATOR,
  metricFor,
  type RawItemRows,
  updateCatalogue,
  vectorRows,
} from '../../serve/annIndex.js';
import { loadExport, readManifest, type ServingBundle } from '../../serve/bundle.js';
import {
  describeTuning,
  evaluateIndex,
  type QuerySource,
  syntheticVectors,
  TUNE_DEFAULTS,
  type TuningCandidate,
  tuneIndex,
} from '../../serve/indexEval.js';
import { intOption } from '../intOption.js';

/**
 * Reads item rows for `kdrec index add` with the data layer's readers (CSV/TSV/Parquet/JSON Lines;
 * errors name file, line and column): the id column plus the source column of every item field the
 * export's item tower or pre-ranker reads; numeric fields must have a value, lists are joined by '|'.
 */
export async function readItemRows(
  path: string,
  exportDir: string,
  opts: { idColumn?: string; skipBadRows?: boolean } = {},
): Promise<RawItemRows> {
  const m = readManifest(exportDir);
  const schema = Schema.fromJSON(m.schema);
  const itemFields = [...new Set([...m.fields.item, ...m.fields.prerank])]
    .map((n) => schema.field(n))
    .filter((f) => f.group === 'item');
  const idColumn = opts.idColumn ?? (m.itemIdField !== null ? schema.field(m.itemIdField).source : undefined);
  if (idColumn === undefined)
    throw new Error(`export ${exportDir} has no item-id field: name the id column with --id-column`);
  const columns: TableSource['columns'] = { [idColumn]: 'VARCHAR' };
  for (const f of itemFields) columns[f.source] = f.kind === 'numeric' ? 'DOUBLE' : 'VARCHAR';
  const sources = Object.keys(columns);
  const db = await DuckDb.open({ threads: 1 });
  try {
    const read = await db.readTable(
      'items_add',
      { path, columns },
      { skipBadRows: opts.skipBadRows ?? false },
    );
    if (read.skipped > 0) process.stderr.write(`${summarizeReports([read])}\n`);
    const rows: RawItemRows = { source: path, ids: [], lines: [], columns: {} };
    const n = await db.scalar('SELECT count(*) FROM items_add');
    const lines = new Float64Array(n);
    const specs: ColumnSpec[] = [{ kind: 'number', out: lines }];
    const fill: (() => void)[] = [];
    for (const c of sources) {
      if (columns[c] === 'DOUBLE') {
        const out = new Float64Array(n);
        specs.push({ kind: 'number', out });
        fill.push(() => (rows.columns[c] = Array.from(out)));
      } else {
        const out = new Array<string | null>(n);
        specs.push({ kind: 'string', onString: (r, v) => (out[r] = v) });
        fill.push(() => (rows.columns[c] = out));
      }
    }
    await db.fetchColumns(
      `SELECT _line, ${sources.map(sqlId).join(', ')} FROM items_add ORDER BY _line`,
      specs,
    );
    for (const f of fill) f();
    rows.lines = Array.from(lines);
    const idValues = rows.columns[idColumn]!;
    for (let i = 0; i < n; i++) {
      const id = idValues[i];
      if (id === null || id === undefined || id === '')
        throw new Error(`${path}: line ${rows.lines[i]}, column '${idColumn}': missing item id`);
      rows.ids.push(String(id));
    }
    return rows;
  } finally {
    db.close();
  }
}

const METRICS = ['ip', 'cos', 'l2sq'];

/** `index add/remove`: when the catalogue log is folded into a new revision. */
const compactFractionOption = [
  '--compact-fraction <x>',
  'fold the catalogue log into a new revision once it has touched this fraction of the catalogue',
  (v: string) => {
    const x = Number(v);
    if (!(x >= 0) || !Number.isFinite(x))
      throw new Error(`--compact-fraction: expected a number >= 0, got '${v}'`);
    return x;
  },
  COMPACT_FRACTION,
] as const;

/** The tuner's options `index build` and `index eval` share (./../../serve/indexEval.ts `tuneIndex`). */
function withTuneOptions(cmd: Command): Command {
  return cmd
    .option('--no-tune', 'build the graph given by --raw-ip / --norm-ranges without tuning')
    .option(
      '--target-recall <x>',
      'recall@100 the tuner must reach (against exact search, held-out queries)',
      (v: string) => {
        const x = Number(v);
        if (!(x > 0 && x <= 1)) throw new Error(`--target-recall: expected a number in (0, 1], got '${v}'`);
        return x;
      },
      TUNE_DEFAULTS.targetRecall,
    )
    .option(
      '--tune-sample <n>',
      'graph kinds are compared on this many sampled items (0: on the whole catalogue)',
      intOption('--tune-sample', 0),
      TUNE_DEFAULTS.sampleItems,
    )
    .option('--queries <n>', 'held-out queries', intOption('--queries'), 300);
}

/** The HNSW build options `index build` and `index eval` share (defaults: HNSW_DEFAULTS). */
function withHnswBuildOptions(cmd: Command): Command {
  return cmd
    .option(
      '--connectivity <n>',
      'HNSW graph degree M',
      intOption('--connectivity'),
      HNSW_DEFAULTS.connectivity,
    )
    .option(
      '--ef-construction <n>',
      'HNSW expansion (ef) at build time',
      intOption('--ef-construction'),
      HNSW_DEFAULTS.expansionAdd,
    )
    .option('--raw-ip', 'dot models: plain inner-product graph instead of the MIPS transform')
    .option(
      '--norm-ranges <n>',
      'dot models: one graph per norm range, each with its own MIPS bound (higher recall, n searches per query)',
      intOption('--norm-ranges'),
      HNSW_DEFAULTS.normRanges,
    );
}

export function register(program: Command): void {
  const index = program.command('index').description('Build and evaluate the ANN index over item vectors.');

  withTuneOptions(
    withHnswBuildOptions(
      index
        .command('build')
        .summary("build the HNSW index of an export's item vectors, tuned to a target recall")
        .description(
          'Compares graph kinds (plain inner product, MIPS transform, 2 or 4 norm ranges) on a sample of the catalogue and ' +
            "an ef ladder on the full graph, measuring recall@100 against exact search on held-out queries (the known users' " +
            'vectors, else item vectors), and keeps the fastest setting that reaches --target-recall (if none does: the best ' +
            'recall, and it says so). The choice and its measurements are saved in the index description and reported by ' +
            '`kdrec index eval` and /health. --no-tune builds the graph given by --raw-ip / --norm-ranges as it is.',
        )
        .requiredOption('--export <dir>', 'export directory (from `kdrec export`)')
        .option('--metric <m>', "ip | cos (default: from the manifest's score function; l2sq is refused)"),
    ),
  ).action(
    (o: {
      export: string;
      metric?: string;
      connectivity: number;
      efConstruction: number;
      rawIp?: boolean;
      normRanges: number;
      tune: boolean;
      targetRecall: number;
      tuneSample: number;
      queries: number;
    }) => {
      if (o.metric !== undefined && !METRICS.includes(o.metric))
        throw new Error(`--metric: expected one of ${METRICS.join(', ')}, got '${o.metric}'`);
      let bundle = loadExport(o.export);
      // The index is built for a revision's files: fold a catalogue log in first.
      if (bundle.catalogueDelta !== null) {
        bundle = compactCatalogue(o.export) ?? loadExport(o.export);
        process.stderr.write(`folded the catalogue log into revision ${bundle.manifest.revision ?? 0}\n`);
      }
      const m = bundle.manifest;
      const t = performance.now();
      let idx: HnswIndex;
      if (o.tune) {
        if (o.metric !== undefined) metricFor(m.scoreFn, o.metric as IndexMetric);
        const q = heldOutQueries(bundle, o.queries, 1);
        idx = tuneIndex(bundle.itemVectors, m.dim, q.queries, {
          scoreFn: m.scoreFn,
          live: bundle.itemLive,
          querySource: q.source,
          targetRecall: o.targetRecall,
          sampleItems: o.tuneSample,
          connectivity: o.connectivity,
          expansionAdd: o.efConstruction,
          log: (msg) => process.stderr.write(`${msg}\n`),
        }).index;
      } else {
        idx = new HnswIndex(m.dim, bundle.itemVectors, m.scoreFn, {
          ...(o.metric !== undefined ? { metric: o.metric as IndexMetric } : {}),
          connectivity: o.connectivity,
          expansionAdd: o.efConstruction,
          ...(o.rawIp ? { phi: 0 } : { normRanges: o.normRanges }),
          live: bundle.itemLive,
        });
      }
      const saved = idx.save(o.export, m);
      process.stdout.write(
        `built HNSW (${idx.metric}, M ${idx.opts.connectivity}, ef_construction ${idx.opts.expansionAdd}${idx.phi === 0 && m.scoreFn === 'dot' ? ', plain inner product' : ''}${idx.phis.length > 1 ? `, ${idx.phis.length} norm ranges` : ''}) over ${idx.size()} items × dim ${m.dim} in ${((performance.now() - t) / 1000).toFixed(1)} s → ${o.export}/${indexMetaFile(saved)}\n` +
          (idx.tuning !== null ? `${describeTuning(idx.tuning)}\n` : ''),
      );
    },
  );

  const report = (r: CatalogueUpdateReport, dir: string, seconds: number, json: boolean | undefined) => {
    if (json) {
      process.stdout.write(`${JSON.stringify({ ...r, seconds })}\n`);
      return;
    }
    process.stdout.write(
      `${dir}: revision ${r.revision}${r.compacted ? ' (catalogue log folded in)' : ` + ${r.logRecords} logged update(s)`}: ${r.added} added, ${r.replaced} replaced, ${r.removed} removed${r.missing.length ? `, ${r.missing.length} unknown ids skipped` : ''}; ${r.liveItems} items served (${r.itemCount} rows)${r.indexUpdated ? (r.compacted ? '; HNSW index updated' : '; HNSW index + exact search over the log') : '; no saved HNSW index (exact search)'} in ${seconds.toFixed(2)} s\n` +
        (r.truncatedBytes > 0
          ? `cut off a torn log tail of ${r.truncatedBytes} bytes (an interrupted earlier update; it had not been applied)\n`
          : '') +
        (r.withoutWindowKeys > 0
          ? `${r.withoutWindowKeys} added/replaced item(s) have no window keys: the ranker's privileged window counts (category/shop) are 0 for them; /recommend flags them in "noWindowKeys"\n`
          : '') +
        'a running server picks this up on its next reload (POST /admin/reload or SIGHUP)\n',
    );
  };

  index
    .command('add')
    .summary('add or replace catalogue items in an export and its saved index, without a rebuild')
    .description(
      'Reads item rows (CSV/TSV/Parquet/JSON Lines) with the id column and the source column of every item field the export reads ' +
        `(list fields joined by '${LIST_SEPARATOR}'), embeds them with the export's item tower and adds them to the item table and ` +
        'the saved HNSW index as a new revision. An id already in the catalogue is replaced.\n\n' +
        'Example: kdrec index add --export exports/v1 --items new_items.csv',
    )
    .requiredOption('--export <dir>', 'export directory (from `kdrec export`)')
    .requiredOption('--items <file>', 'item rows: .csv, .tsv, .parquet or .jsonl')
    .option('--id-column <name>', "column holding the raw item id (default: the item-id field's column)")
    .option('--skip-bad-rows', 'drop malformed rows and report them instead of failing')
    .option(
      '--rebuild-index',
      "rebuild the HNSW index instead of updating it (needed when a dot model's new item is longer than the index's bound Φ)",
    )
    .option('--json', 'print the result as one JSON line')
    .option(...compactFractionOption)
    .action(
      async (o: {
        compactFraction: number;
        export: string;
        items: string;
        idColumn?: string;
        skipBadRows?: boolean;
        rebuildIndex?: boolean;
        json?: boolean;
      }) => {
        const t = performance.now();
        const rows = await readItemRows(o.items, o.export, {
          ...(o.idColumn !== undefined ? { idColumn: o.idColumn } : {}),
          skipBadRows: o.skipBadRows ?? false,
        });
        const r = updateCatalogue(o.export, {
          add: rows,
          rebuildIndex: o.rebuildIndex ?? false,
          compactFraction: o.compactFraction,
        });
        report(r, o.export, (performance.now() - t) / 1000, o.json);
      },
    );

  index
    .command('compact')
    .summary('fold the catalogue log of `index add/remove` into a new revision of the item table and index')
    .description(
      '`kdrec index add/remove` append to a log that loaders apply (exact search over the logged items beside the saved graph); ' +
        `this folds it in (automatic once the log touches ${COMPACT_FRACTION * 100}% of the catalogue).\n\n` +
        'Example: kdrec index compact --export exports/v1',
    )
    .requiredOption('--export <dir>', 'export directory (from `kdrec export`)')
    .option('--rebuild-index', 'rebuild the HNSW index over the compacted table instead of updating it')
    .action((o: { export: string; rebuildIndex?: boolean }) => {
      const t = performance.now();
      const b = compactCatalogue(o.export, { rebuildIndex: o.rebuildIndex ?? false });
      process.stdout.write(
        b === null
          ? `${o.export}: no catalogue log to fold in\n`
          : `${o.export}: revision ${b.manifest.revision ?? 0}: ${b.manifest.itemCount} rows in ${((performance.now() - t) / 1000).toFixed(2)} s\n`,
      );
    });

  index
    .command('remove')
    .summary('remove catalogue items from an export and its saved index, without a rebuild')
    .description(
      'Removes items from the item table and the saved HNSW index as a new revision; they are no longer recalled. ' +
        'An id that is not served is an error unless --ignore-missing.\n\n' +
        'Example: kdrec index remove --export exports/v1 --ids i17,i42',
    )
    .requiredOption('--export <dir>', 'export directory (from `kdrec export`)')
    .option('--ids <list>', 'comma-separated raw item ids')
    .option('--ids-file <file>', 'file with one raw item id per line')
    .option('--ignore-missing', 'skip ids that are not in the catalogue')
    .option('--json', 'print the result as one JSON line')
    .option(...compactFractionOption)
    .action(
      (o: {
        export: string;
        ids?: string;
        idsFile?: string;
        ignoreMissing?: boolean;
        json?: boolean;
        compactFraction: number;
      }) => {
        if ((o.ids === undefined) === (o.idsFile === undefined))
          throw new Error('index remove: give exactly one of --ids id1,id2 or --ids-file FILE');
        const ids =
          o.ids !== undefined
            ? o.ids.split(',').map((s) => s.trim())
            : readFileSync(o.idsFile!, 'utf8')
                .split(/\r?\n/)
                .map((s) => s.trim());
        const nonEmpty = ids.filter((s) => s !== '');
        if (nonEmpty.length === 0)
          throw new Error(`index remove: no item ids in ${o.ids !== undefined ? '--ids' : o.idsFile}`);
        const t = performance.now();
        const r = updateCatalogue(o.export, {
          remove: nonEmpty,
          ignoreMissing: o.ignoreMissing ?? false,
          compactFraction: o.compactFraction,
        });
        report(r, o.export, (performance.now() - t) / 1000, o.json);
      },
    );

  withTuneOptions(
    withHnswBuildOptions(
      index
        .command('eval')
        .summary(
          'recall@100 of HNSW vs exact search and queries/s, for the settings `index build` would choose',
        )
        .description(
          'Runs the tuner of `kdrec index build` (graph kind and ef for --target-recall) and reports what it would choose; ' +
            'with --export, also what the saved index was tuned to. --no-tune reports recall and q/s per --ef of the graph ' +
            'given by --raw-ip / --norm-ranges instead.',
        )
        .option('--export <dir>', "evaluate on an export's item vectors (queries: its known users' vectors)")
        .option('--synthetic', 'evaluate on seeded N(0,1) vectors instead')
        .option('--items <n>', 'synthetic: number of items', intOption('--items'), 100_000)
        .option('--dim <n>', 'synthetic: dimension', intOption('--dim'), 64)
        .option('--ef <list>', '--no-tune: comma-separated ef values', '64,128,256,512')
        .option('--seed <n>', 'synthetic seed', intOption('--seed'), 1),
    ),
  )
    .option('--json', 'print one JSON line {recallAt100, qps, ef} for the chosen (--no-tune: the default) ef')
    .action(
      (o: {
        export?: string;
        synthetic?: boolean;
        items: number;
        dim: number;
        queries: number;
        ef: string;
        seed: number;
        connectivity: number;
        efConstruction: number;
        rawIp?: boolean;
        normRanges: number;
        tune: boolean;
        targetRecall: number;
        tuneSample: number;
        json?: boolean;
      }) => {
        if ((o.export === undefined) === (o.synthetic === undefined))
          throw new Error('index eval: give exactly one of --export DIR or --synthetic');
        const efs = o.ef.split(',').map((s) => intOption('--ef')(s.trim()));
        let vectors: Float32Array;
        let queries: Float32Array;
        let dim: number;
        let scoreFn: 'dot' | 'cosine';
        let live: Uint8Array | null = null;
        let source: QuerySource = 'synthetic';
        if (o.export !== undefined) {
          const b = loadExport(o.export);
          dim = b.manifest.dim;
          scoreFn = b.manifest.scoreFn;
          vectors = b.itemVectors;
          live = b.itemLive;
          const q = heldOutQueries(b, o.queries, 1);
          queries = q.queries;
          source = q.source;
          if (hasSavedIndex(o.export, b.manifest) && !o.json) {
            const saved = HnswIndex.load(o.export, b, { mode: 'view' });
            process.stdout.write(
              saved.tuning !== null
                ? `saved index: ${describeTuning(saved.tuning)}\n`
                : 'saved index: built without tuning (--no-tune)\n',
            );
          }
        } else {
          dim = o.dim;
          scoreFn = 'dot';
          vectors = syntheticVectors(o.items, dim, o.seed);
          queries = syntheticVectors(o.queries, dim, o.seed + 1);
        }
        const log = o.json ? undefined : (m: string) => process.stderr.write(`${m}\n`);
        const row = (cs: TuningCandidate[]) =>
          cs
            .map(
              (c) =>
                `${c.graph}\t${c.ef}\t${c.recallAt100.toFixed(4)}${c.reachedTarget ? '' : ' (below target)'}\t${c.qps.toFixed(0)}\t${c.buildSeconds.toFixed(1)}`,
            )
            .join('\n');
        if (o.tune) {
          const { tuning } = tuneIndex(vectors, dim, queries, {
            scoreFn,
            live,
            querySource: source,
            targetRecall: o.targetRecall,
            sampleItems: o.tuneSample,
            connectivity: o.connectivity,
            expansionAdd: o.efConstruction,
            ...(log ? { log } : {}),
          });
          if (o.json) {
            process.stdout.write(
              `${JSON.stringify({ recallAt100: tuning.recallAt100, qps: tuning.qps, ef: tuning.ef })}\n`,
            );
            return;
          }
          process.stdout.write(
            `${vectors.length / dim} items × dim ${dim}, ${scoreFn}; graph kinds on ${tuning.sampleItems} items:\n` +
              `graph\tef\trecall@100\tq/s\tbuild s\n${row(tuning.candidates)}\n` +
              `full-size graphs:\n${row(tuning.fullCandidates)}\n` +
              `${describeTuning(tuning)}\n`,
          );
          return;
        }
        const r = evaluateIndex(vectors, dim, queries, {
          scoreFn,
          efs,
          rawIp: o.rawIp ?? false,
          normRanges: o.normRanges,
          connectivity: o.connectivity,
          expansionAdd: o.efConstruction,
          ...(log ? { log } : {}),
        });
        if (o.json) {
          process.stdout.write(
            `${JSON.stringify({ recallAt100: r.default.recallAt100, qps: r.default.qps, ef: r.default.ef })}\n`,
          );
          return;
        }
        process.stdout.write(
          `${r.items} items × dim ${r.dim}, ${r.queries} queries, ${r.scoreFn}; HNSW M ${r.connectivity}, ef_construction ${r.expansionAdd}, ${r.phi > 0 ? `MIPS transform Φ ${r.phi.toFixed(3)}${r.normRanges > 1 ? ` over ${r.normRanges} norm ranges` : ''}` : 'plain ip'}, build ${r.buildSeconds.toFixed(1)} s; exact ${r.exactQps.toFixed(0)} q/s\n` +
            `ef\trecall@100\tq/s\n${r.rows.map((x) => `${x.ef}\t${x.recallAt100.toFixed(4)}\t${x.qps.toFixed(0)}`).join('\n')}\n`,
        );
      },
    );
}

/**
 * Held-out queries for tuning: the vectors of up to `n` known users of the export's user table
 * (real queries), else `n` item vectors of live rows (the issue's fallback; an item is its own
 * best match in neither inner-product nor exact search specially, so exact and HNSW see the same).
 */
export function heldOutQueries(
  b: ServingBundle,
  n: number,
  seed: number,
): { queries: Float32Array; source: QuerySource } {
  const dim = b.manifest.dim;
  const rng = new Rng(seed);
  const pick = <T>(xs: T[]): T[] => {
    for (let i = 0; i < Math.min(n, xs.length); i++) {
      const j = i + rng.int(xs.length - i);
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs.slice(0, n);
  };
  const users = b.knownUserIds();
  if (users.length > 0) {
    const ids = pick([...users]);
    const queries = new Float32Array(ids.length * dim);
    ids.forEach((id, i) => {
      queries.set(b.userVector(b.encodeUser({ userId: id })), i * dim);
    });
    return { queries, source: 'users' };
  }
  const rows: number[] = [];
  for (let r = 0; r < b.manifest.itemCount; r++) if (b.itemLive === null || b.itemLive[r]) rows.push(r);
  if (rows.length === 0) throw new Error(`${b.dir}: no known users and no items to tune the index with`);
  return { queries: vectorRows(b.itemVectors, dim, pick(rows)), source: 'items' };
}
