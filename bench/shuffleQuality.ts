/**
 * How close the streamed block shuffle (src/data/stream.ts) gets to the in-memory full shuffle, in
 * model quality (issue 15 item 4). One simulated world, prepared once; the same two-tower student
 * trained for E epochs with each shuffle, over S seeds; test AUC and GAUC from `kdrec eval`'s
 * streamed evaluation (the same rows for every run).
 *
 *   npm run build && node dist/bench/shuffleQuality.js [--users 4000] [--items 6000] [--days 6]
 *       [--rpud 4] [--epochs 2] [--seeds 3] [--buffers 4096,16384,65536,262144] [--row-group 2048]
 *
 * Rows: `full` = the prepared rows in memory, a full Fisher–Yates shuffle per epoch; `buffer B` =
 * streamed from Parquet, row groups permuted per epoch and windows of ≥ B rows shuffled; `1 group` =
 * a buffer of one row group (row groups in random order, rows shuffled inside each): the weakest
 * mixing the stream offers. Prints one JSON line per (shuffle, seed) to stderr and a median table.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { prepareDataset } from '../src/data/loaders/index.js';
import { simulate } from '../src/data/simulator.js';
import { auc } from '../src/eval/metrics/auc.js';
import { evaluateRunStreamed } from '../src/eval/streamEval.js';
import { parseConfig } from '../src/run/config.js';
import { runFromConfig } from '../src/train/run.js';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '4000' },
    items: { type: 'string', default: '6000' },
    days: { type: 'string', default: '6' },
    rpud: { type: 'string', default: '4' },
    epochs: { type: 'string', default: '2' },
    seeds: { type: 'string', default: '3' },
    buffers: { type: 'string', default: '4096,16384,65536,262144' },
    'row-group': { type: 'string', default: '2048' },
  },
});

const dir = mkdtempSync(join(tmpdir(), 'kdrec-shuffle-'));
try {
  const sim = join(dir, 'sim');
  await simulate({
    out: sim,
    users: Number(values.users),
    items: Number(values.items),
    days: Number(values.days),
    seed: 42,
    requestsPerUserDay: Number(values.rpud),
  });
  const prep = join(dir, 'prep');
  const m = await prepareDataset(`sim:${sim}`, { out: prep, rowGroupRows: Number(values['row-group']) });
  const rowGroups = m.splits.train.files.reduce((a, f) => a + f.rowGroups.length, 0);
  console.error(`train rows ${m.splits.train.rows} in ${rowGroups} row groups of ≤ ${values['row-group']}`);
  const shuffles: { name: string; dataset: Record<string, unknown> }[] = [
    { name: 'full (in memory)', dataset: { stream: false } },
    ...values
      .buffers!.split(',')
      .map((b) => ({ name: `buffer ${b}`, dataset: { stream: true, shuffleBuffer: Number(b) } })),
    { name: '1 row group', dataset: { stream: true, shuffleBuffer: 1 } },
  ];
  const results: Record<string, { auc: number[]; gauc: number[] }> = {};
  for (const sh of shuffles) {
    results[sh.name] = { auc: [], gauc: [] };
    for (let seed = 1; seed <= Number(values.seeds); seed++) {
      const cfg = parseConfig({
        name: 'shuffle',
        seed,
        dataset: { spec: `prepared:${prep}`, ...sh.dataset },
        mode: 'student',
        student: { type: 'two-tower', embeddingDim: 16, userHidden: [64, 32], itemHidden: [64, 32] },
        optimizer: { lr: 0.002 },
        batchSize: 512,
        epochs: Number(values.epochs),
      });
      const runDir = join(dir, `run-${results[sh.name]!.auc.length}-${sh.name.replace(/\W+/g, '_')}`);
      await runFromConfig(cfg, { runDir, auc: (y, s) => auc(y, s) });
      const ev = await evaluateRunStreamed({ run: runDir, split: 'test' });
      const o = ev.models['student']!['ctr']!;
      results[sh.name]!.auc.push(o.auc!);
      results[sh.name]!.gauc.push(o.gauc!);
      console.error(JSON.stringify({ shuffle: sh.name, seed, testAuc: o.auc, testGauc: o.gauc }));
      rmSync(runDir, { recursive: true, force: true });
    }
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  const full = results['full (in memory)']!;
  console.log('| shuffle | test AUC (median) | Δ vs full | test GAUC (median) | Δ vs full | AUCs |');
  console.log('|---|---|---|---|---|---|');
  for (const [name, r] of Object.entries(results)) {
    console.log(
      `| ${name} | ${median(r.auc).toFixed(4)} | ${(median(r.auc) - median(full.auc)).toFixed(4)} | ` +
        `${median(r.gauc).toFixed(4)} | ${(median(r.gauc) - median(full.gauc)).toFixed(4)} | ${r.auc.map((x) => x.toFixed(4)).join(', ')} |`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
