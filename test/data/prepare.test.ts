import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Columns } from '../../src/data/batch.js';
import { type LoadedDataset, privilegedColumns } from '../../src/data/dataset.js';
import { loadDataset, prepareDataset } from '../../src/data/loaders/index.js';
import { SIM_SCHEMA } from '../../src/data/loaders/sim.js';
import { loadPreparedDataset, openPrepared, type PreparedDataset } from '../../src/data/prepared.js';
import { simulate } from '../../src/data/simulator.js';
import { readAll } from '../../src/data/stream.js';
import { hashBucket } from '../../src/engine/vocab.js';
import { userFeatureTable } from '../../src/serve/export.js';
import { tempDir, writeSimFixture } from './fixtures.js';

const US = { lastN: 4, windows: ['1h', 'all'] };

function assertColumnsEqual(got: Columns, want: Columns, where: string): void {
  assert.equal(got.size, want.size, `${where}: rows`);
  for (const k of ['userKey', 'itemKey', 'requestId', 'ts'] as const) {
    if (want[k] === undefined) continue;
    assert.deepEqual(Array.from(got[k]!), Array.from(want[k]!), `${where}: ${k}`);
  }
  assert.deepEqual(
    Object.keys(got.cat).sort(),
    Object.keys(want.cat).sort(),
    `${where}: categorical columns`,
  );
  for (const [f, v] of Object.entries(want.cat))
    assert.deepEqual(Array.from(got.cat[f]!), Array.from(v), `${where}: cat ${f}`);
  assert.deepEqual(Object.keys(got.seq).sort(), Object.keys(want.seq).sort(), `${where}: list columns`);
  for (const [f, v] of Object.entries(want.seq)) {
    assert.equal(got.seq[f]!.maxLen, v.maxLen, `${where}: ${f} maxLen`);
    assert.deepEqual(Array.from(got.seq[f]!.ids), Array.from(v.ids), `${where}: seq ${f}`);
  }
  assert.deepEqual(Object.keys(got.num).sort(), Object.keys(want.num).sort(), `${where}: numeric columns`);
  for (const [f, v] of Object.entries(want.num)) {
    const g = got.num[f]!;
    for (let i = 0; i < v.length; i++)
      assert.ok(
        Math.abs(g[i]! - v[i]!) <= 1e-5 * (1 + Math.abs(v[i]!)),
        `${where}: num ${f} row ${i}: ${g[i]} vs ${v[i]}`,
      );
  }
  for (const [f, v] of Object.entries(want.labels))
    assert.deepEqual(Array.from(got.labels[f]!), Array.from(v), `${where}: label ${f}`);
}

/** The prepared folder holds exactly what the in-memory pipeline computes. */
async function assertSameAsInMemory(mem: LoadedDataset, prep: PreparedDataset): Promise<void> {
  assert.deepEqual(prep.schema.fit!.tableSizes, mem.schema.fit!.tableSizes, 'table sizes');
  for (const [name, s] of Object.entries(mem.schema.fit!.numericStats)) {
    const p = prep.schema.fit!.numericStats[name]!;
    assert.ok(p, `numeric stats of ${name}`);
    for (const k of ['mean', 'std', 'min', 'max'] as const)
      assert.ok(
        Math.abs(p[k] - s[k]) <= 1e-6 * (1 + Math.abs(s[k])),
        `stats ${name}.${k}: ${p[k]} vs ${s[k]}`,
      );
  }
  assert.deepEqual(
    Object.keys(prep.schema.fit!.numericStats).sort(),
    Object.keys(mem.schema.fit!.numericStats).sort(),
  );
  for (const split of ['train', 'valid', 'test'] as const) {
    const got = await readAll(prep.splits[split]);
    const want = mem.splits[split].columns;
    assertColumnsEqual(got, want, split);
    // Sample ids are the rows of the time-ordered log.
    const rows: number[] = [];
    for (let i = 0; i < mem.split.length; i++)
      if (mem.split[i] === ['train', 'valid', 'test'].indexOf(split)) rows.push(i);
    assert.deepEqual(Array.from(got.sampleId!), rows, `${split}: sample ids`);
  }
  assert.deepEqual(prep.itemIds, mem.itemIds, 'item ids');
  assertColumnsEqual(prep.items.columns, mem.items.columns, 'catalogue');
  const users = await prep.readUsers();
  assert.deepEqual(users.ids, mem.userIds, 'user ids');
  const userFields = mem.schema.features.filter((f) => f.group === 'user').map((f) => f.name);
  const table = userFeatureTable(mem, userFields);
  assertColumnsEqual(users.columns, table.columns, 'users table');
  assert.deepEqual(prep.manifest.stats.coverage, mem.stats.coverage, 'OOV and missing counts');
  for (const split of ['train', 'valid', 'test'] as const)
    for (const [l, r] of Object.entries(mem.stats.labelRates[split]))
      assert.ok(Math.abs(prep.manifest.splits[split].labelRates[l]! - r) < 1e-9, `${split} ${l} rate`);
}

test('prepare (SQL, Parquet) equals the in-memory pipeline row by row: simulator world with user state', async () => {
  const dir = tempDir('prep-sim');
  await simulate({ out: dir, users: 150, items: 200, days: 2, seed: 4, requestsPerUserDay: 4 });
  const mem = await loadDataset(`sim:${dir}`, { userState: US });
  const out = join(dir, 'prepared');
  const m = await prepareDataset(`sim:${dir}`, { out, userState: US, rowGroupRows: 2048, partRows: 5000 });
  assert.ok(m.splits.train.files.length > 1, 'several part files');
  assert.ok(!existsSync(join(out, '.work')), 'the work folder is removed');
  const prep = await openPrepared(out);
  try {
    await assertSameAsInMemory(mem, prep);
    assert.ok(prep.splits.train.units.length >= 4, 'several row groups');
    assert.ok(prep.splits.train.units.every((u) => u.rows <= 2048));
  } finally {
    await prep.close();
  }
});

test('prepare equals the in-memory pipeline on same-second ties, OOV items and a leave-last-out split', async () => {
  const dir = tempDir('prep-fixture');
  writeSimFixture(dir, 300, 9);
  for (const split of [
    { kind: 'time', train: 0.8, valid: 0.1 } as const,
    { kind: 'leave-last-out' } as const,
  ]) {
    const mem = await loadDataset(`sim:${dir}`, { userState: US, split });
    const out = join(dir, `prepared-${split.kind}`);
    await prepareDataset(`sim:${dir}`, { out, userState: US, split, partRows: 128 });
    const prep = await openPrepared(out);
    try {
      await assertSameAsInMemory(mem, prep);
    } finally {
      await prep.close();
    }
  }
});

test('prepare: hashed fields use serving FNV-1a buckets, min-count cuts the vocabulary', async () => {
  const dir = tempDir('prep-hash');
  writeSimFixture(dir, 200, 3);
  const schema = {
    fields: SIM_SCHEMA.fields.map((f) =>
      f.name === 'user_id'
        ? { ...f, hashBuckets: 7, embedding: { share: 'user_id' } }
        : f.name === 'item_id'
          ? { ...f, minCount: 36 }
          : f,
    ),
  };
  const mem = await loadDataset(`sim:${dir}`, { schema });
  const out = join(dir, 'prepared');
  await prepareDataset(`sim:${dir}`, { out, schema });
  const prep = await openPrepared(out);
  try {
    await assertSameAsInMemory(mem, prep);
    const train = await readAll(prep.splits.train);
    const users = await prep.readUsers();
    for (let i = 0; i < train.size; i++)
      assert.equal(train.cat.user_id![i], 1 + hashBucket(users.ids[train.userKey![i]!]!, 7));
    assert.equal(prep.schema.tableSize('user_id'), 8);
    assert.ok(prep.manifest.vocabs['item_id']!.size < 6, 'rare items fall below minCount');
  } finally {
    await prep.close();
  }
});

test('prepare refuses to overwrite a prepared folder without --force', async () => {
  const dir = tempDir('prep-force');
  writeSimFixture(dir, 60, 2);
  const out = join(dir, 'p');
  await prepareDataset(`sim:${dir}`, { out });
  await assert.rejects(prepareDataset(`sim:${dir}`, { out }), /already holds a prepared dataset.*--force/);
  await prepareDataset(`sim:${dir}`, { out, force: true });
});

const ML = join(process.cwd(), '..', 'shared', 'data', 'movielens-100k');

test('prepare equals the in-memory pipeline on MovieLens-100K (genres as multi-hot keys)', async (t) => {
  if (!existsSync(ML)) {
    t.skip(`${ML} not present`);
    return;
  }
  const mem = await loadDataset(`movielens-100k:${ML}`, { userState: US });
  const out = join(tempDir('prep-ml'), 'p');
  await prepareDataset(`movielens-100k:${ML}`, { out, userState: US });
  const prep = await openPrepared(out);
  try {
    await assertSameAsInMemory(mem, prep);
  } finally {
    await prep.close();
  }
});

test('leak test on the SQL path: no feature sees an event at or after its request second (brute force)', async () => {
  const dir = tempDir('prep-leak');
  writeSimFixture(dir, 400, 13);
  const out = join(dir, 'p');
  await prepareDataset(`sim:${dir}`, { out, userState: { lastN: 3, windows: ['2h'] }, windowSeconds: 3600 });
  const prep = await openPrepared(out);
  try {
    const parts = [];
    for (const s of ['train', 'valid', 'test'] as const) parts.push(await readAll(prep.splits[s]));
    // The whole log in sample order (the splits of a time split are consecutive).
    const rows = parts.flatMap((c) => Array.from({ length: c.size }, (_, i) => ({ c, i })));
    rows.sort((a, b) => a.c.sampleId![a.i]! - b.c.sampleId![b.i]!);
    const get = (r: (typeof rows)[number]) => ({
      u: r.c.userKey![r.i]!,
      t: r.c.ts![r.i]!,
      item: r.c.cat.item_id![r.i]!,
      cat: r.c.cat.category![r.i]!,
      click: r.c.labels.click![r.i]!,
    });
    const log = rows.map(get);
    let sawTies = 0;
    rows.forEach((r, k) => {
      const me = log[k]!;
      const before = log.filter((e) => e.u === me.u && e.t < me.t);
      if (log.some((e, j) => j !== k && e.u === me.u && e.t === me.t)) sawTies++;
      // log is in (time, line) order, so `before` is in time order, ties in log order.
      const lastItems = before.slice(-3).map((e) => e.item);
      const got = Array.from(r.c.seq.recent_items!.ids.subarray(r.i * 3, r.i * 3 + 3)).filter((x) => x >= 0);
      assert.deepEqual(got, lastItems, `row ${k}: last items`);
      const inWin = before.filter((e) => e.t >= me.t - 7200);
      assert.ok(
        Math.abs(r.c.num.recent_events_2h![r.i]! - Math.log1p(inWin.length)) < 1e-5,
        `row ${k}: count`,
      );
      const rate = inWin.length ? inWin.filter((e) => e.click > 0).length / inWin.length : 0;
      assert.ok(Math.abs(r.c.num.recent_click_rate_2h![r.i]! - rate) < 1e-6, `row ${k}: rate`);
      const priv = before.filter((e) => e.t >= me.t - 3600 && e.cat === me.cat && e.click > 0).length;
      assert.ok(
        Math.abs(r.c.num.user_category_clicks![r.i]! - Math.log1p(priv)) < 1e-5,
        `row ${k}: privileged`,
      );
    });
    assert.ok(sawTies > 50, `the fixture has same-second events (${sawTies})`);
  } finally {
    await prep.close();
  }
});

test('a prepared folder loaded into memory is the LoadedDataset of the raw loader (vocabs, window counters for unlogged pairs)', async () => {
  const dir = tempDir('prep-mem');
  writeSimFixture(dir, 300, 21);
  const mem = await loadDataset(`sim:${dir}`, { userState: US });
  const out = join(dir, 'p');
  await prepareDataset(`sim:${dir}`, { out, userState: US });
  const back = await loadPreparedDataset(out);
  assert.deepEqual(Array.from(back.split), Array.from(mem.split));
  assertColumnsEqual(back.events.columns, mem.events.columns, 'events');
  for (const s of ['train', 'valid', 'test'] as const)
    assertColumnsEqual(back.splits[s].columns, mem.splits[s].columns, s);
  assert.deepEqual(back.userIds, mem.userIds);
  assert.deepEqual(
    Object.fromEntries(Object.entries(back.vocabs).map(([k, v]) => [k, v.toJSON()])),
    Object.fromEntries(Object.entries(mem.vocabs).map(([k, v]) => [k, v.toJSON()])),
  );
  // Privileged counts for pairs the log never holds (every user × every item at a few times).
  const U = mem.userIds.length;
  const I = mem.items.size;
  const n = U * I * 3;
  const u = Int32Array.from({ length: n }, (_, i) => i % U);
  const it = Int32Array.from({ length: n }, (_, i) => Math.floor(i / U) % I);
  const t = Float64Array.from({ length: n }, (_, i) => mem.events.columns.ts![(i * 7) % mem.events.size]!);
  assert.deepEqual(privilegedColumns(back, u, it, t), privilegedColumns(mem, u, it, t));
});
