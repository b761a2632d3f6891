/**
 * Benchmark of the data layer (issue 3): a simulator-format dataset with ROWS events (default 1M)
 * is written to a temp folder, then
 *   1. the events CSV is read into DuckDB with validation (`DuckDb.readTable`),
 *   2. its 8 columns are copied into typed arrays chunk by chunk (`fetchColumns`), with the JS heap
 *      growth measured to show no per-row objects are created (1M objects would be >= 30 MB),
 *   3. the whole `loadDataset('sim:DIR')` pipeline runs (split, train-fitted vocabularies, leak-free
 *      window counts, columnar splits).
 * Prints the median of RUNS runs as one JSON line. The machine is shared, so numbers are noisy.
 * --threads caps DuckDB's worker threads (default one per core).
 *
 *   npx tsx bench/dataLoad.ts [--rows 1000000] [--runs 3] [--threads N]
 *   npx tsx bench/dataLoad.ts --dataset movielens-100k:../shared/data/movielens-100k [--runs 3]
 * (with --dataset: only step 3, on that dataset)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDataset } from '../src/data/loaders/index.js';
import { DuckDb } from '../src/data/readers.js';
import { Rng } from '../src/engine/rng.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`${name} must be a positive integer, got ${process.argv[i + 1]}`);
  return v;
}
const rows = arg('--rows', 1_000_000);
const runs = arg('--runs', 3);
const threads = process.argv.includes('--threads') ? arg('--threads', 2) : undefined;
const users = Math.max(10, Math.round(rows / 100));
const items = Math.max(10, Math.round(rows / 50));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const specArg = process.argv.indexOf('--dataset');
if (specArg >= 0) {
  const spec = process.argv[specArg + 1];
  if (!spec) throw new Error('--dataset needs KIND:PATH');
  const ms: number[] = [];
  let rowsLoaded = 0;
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    const ds = await loadDataset(spec, threads ? { duckdbThreads: threads } : {});
    ms.push(performance.now() - t);
    rowsLoaded = ds.stats.rows;
  }
  process.stdout.write(
    `${JSON.stringify({ dataset: spec, rows: rowsLoaded, runs, loadDatasetMs: Math.round(median(ms)), peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`,
  );
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'kdrec-bench-data-'));
const rng = new Rng(1);
writeFileSync(
  join(dir, 'users.csv'),
  `user_id,age_bucket,gender,region\n${Array.from({ length: users }, (_, u) => `${u},${rng.int(7)},${rng.int(2)},${rng.int(8)}`).join('\n')}\n`,
);
writeFileSync(
  join(dir, 'items.csv'),
  `item_id,category,shop,clickbait\n${Array.from({ length: items }, (_, i) => `${i},${i % 20},${i % 200},0.1`).join('\n')}\n`,
);
const lines: string[] = ['ts,request_id,user_id,item_id,position,click,dwell_s,long_dwell'];
let ts = 1_700_000_000;
for (let r = 0; r < rows; r++) {
  if (r % 10 === 0) ts += rng.int(3);
  const click = rng.nextFloat() < 0.1 ? 1 : 0;
  const dwell = click ? rng.int(120) : 0;
  lines.push(
    `${ts},${Math.floor(r / 10)},${rng.int(users)},${rng.int(items)},${r % 10},${click},${dwell},${dwell > 50 ? 1 : 0}`,
  );
}
writeFileSync(join(dir, 'events.csv'), `${lines.join('\n')}\n`);
lines.length = 0;

const readMs: number[] = [];
const fetchMs: number[] = [];
const heapMiB: number[] = [];
const loadMs: number[] = [];
try {
  for (let r = 0; r < runs; r++) {
    const db = await DuckDb.open(threads ? { threads } : {});
    let t = performance.now();
    await db.readTable('ev', {
      path: join(dir, 'events.csv'),
      columns: {
        ts: 'BIGINT',
        request_id: 'BIGINT',
        user_id: 'INTEGER',
        item_id: 'INTEGER',
        position: 'INTEGER',
        click: 'INTEGER',
        dwell_s: 'DOUBLE',
        long_dwell: 'INTEGER',
      },
    });
    readMs.push(performance.now() - t);
    const cols = [
      new Float64Array(rows),
      new Float64Array(rows),
      ...Array.from({ length: 6 }, () => new Float32Array(rows)),
    ];
    globalThis.gc?.();
    const heap0 = process.memoryUsage().heapUsed;
    t = performance.now();
    await db.fetchColumns(
      'SELECT ts, request_id, user_id, item_id, position, click, dwell_s, long_dwell FROM ev ORDER BY _line',
      cols.map((out) => ({ kind: 'number' as const, out })),
    );
    fetchMs.push(performance.now() - t);
    heapMiB.push((process.memoryUsage().heapUsed - heap0) / 2 ** 20);
    db.close();
    t = performance.now();
    const ds = await loadDataset(`sim:${dir}`, threads ? { duckdbThreads: threads } : {});
    loadMs.push(performance.now() - t);
    if (ds.stats.rows !== rows) throw new Error(`loaded ${ds.stats.rows} rows, expected ${rows}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(
  `${JSON.stringify({
    rows,
    runs,
    readCsvMs: Math.round(median(readMs)),
    fetchColumnsMs: Math.round(median(fetchMs)),
    fetchRowsPerSec: Math.round(rows / (median(fetchMs) / 1000)),
    fetchHeapGrowthMiB: +median(heapMiB).toFixed(1),
    loadDatasetMs: Math.round(median(loadMs)),
    loadRowsPerSec: Math.round(rows / (median(loadMs) / 1000)),
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  })}\n`,
);
