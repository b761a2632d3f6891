import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type LoadedDataset, privilegedColumns } from '../../src/data/dataset.js';
import { loadDataset } from '../../src/data/loaders/index.js';
import { DuckDb } from '../../src/data/readers.js';
import { readSchemaFile } from '../../src/data/schema.js';
import { readSimulationManifest, simulate } from '../../src/data/simulator.js';
import { hashBucket } from '../../src/engine/vocab.js';
import { SIM_ITEMS, type SimEvent, tempDir, writeSimFixture } from './fixtures.js';

const W = 24 * 3600;

/** Brute-force count: user's clicks on items of the same category in [t − W, t). */
function bruteCategoryClicks(events: SimEvent[], user: number, item: number, t: number, key: 1 | 2): number {
  const k = SIM_ITEMS[item]![key];
  return events.filter(
    (e) => e.user === user && e.click === 1 && SIM_ITEMS[e.item]![key] === k && e.ts >= t - W && e.ts < t,
  ).length;
}

function rawOf(ds: LoadedDataset, field: string, i: number): number {
  // log1p-normalised counts: invert to the raw count.
  return Math.round(Math.expm1(ds.events.columns.num[field]![i]!));
}

test('sim loader: counts, time order, train-only vocab, OOV counts, catalogue', async () => {
  const dir = tempDir('sim');
  const events = writeSimFixture(dir);
  const ds = await loadDataset(`sim:${dir}`);
  assert.equal(ds.stats.rows, 60);
  assert.deepEqual(ds.stats.splitRows, { train: 48, valid: 6, test: 6 });
  assert.equal(ds.items.size, 6);
  assert.equal(ds.stats.users, 4);
  const ev = ds.events.columns;
  for (let i = 1; i < ev.size; i++) assert.ok(ev.ts![i]! >= ev.ts![i - 1]!, 'events in time order');
  let maxTrain = -Infinity;
  let minLater = Infinity;
  for (let i = 0; i < ev.size; i++) {
    if (ds.split[i] === 0) maxTrain = Math.max(maxTrain, ev.ts![i]!);
    else minLater = Math.min(minLater, ev.ts![i]!);
  }
  assert.ok(maxTrain <= minLater, 'no train event after a valid/test event');
  // Item 5 is only exposed in the test period, so its id is OOV (row 0) but its category is known.
  const item5 = ds.itemIds.indexOf('5');
  let oov = 0;
  for (let i = 0; i < ev.size; i++) {
    if (ev.itemKey![i] === item5) {
      assert.equal(ev.cat.item_id![i], 0);
      assert.notEqual(ev.cat.category![i], 0);
      oov++;
    }
  }
  assert.ok(oov > 0);
  assert.equal(ds.stats.coverage.item_id!.oov, oov);
  assert.equal(ds.vocabs.item_id!.has('5'), false);
  assert.equal(ds.schema.tableSize('item_id'), ds.vocabs.item_id!.size);
  // The catalogue carries the item fields for every item, including the test-only one.
  assert.equal(ds.items.columns.cat.category![item5], ds.vocabs.category!.lookup('2'));
  // Labels are read as logged.
  const clicks = events.reduce((a, e) => a + e.click, 0);
  const loaded = ev.labels.click!.reduce((a, x) => a + x, 0);
  assert.equal(loaded, clicks);
  assert.equal(ds.fingerprint.files.length, 4);
  assert.match(ds.fingerprint.sha256, /^[0-9a-f]{64}$/);
  // requestId: dense ids in order of first appearance, equal exactly when request_id is equal.
  const firstSeen = new Map<number, number>();
  const sorted = events.map((e, i) => ({ e, i })).sort((a, b) => a.e.ts - b.e.ts || a.i - b.i);
  sorted.forEach(({ e }, row) => {
    if (!firstSeen.has(e.request)) firstSeen.set(e.request, firstSeen.size);
    assert.equal(ev.requestId![row], firstSeen.get(e.request));
    assert.equal(ds.userIds[ev.userKey![row]!], String(e.user));
    assert.equal(ds.itemIds[ev.itemKey![row]!], String(e.item));
  });
  // Every split dataset has userKey/itemKey/ts for GAUC and exclusion masks.
  assert.equal(ds.splits.test.columns.itemKey!.length, 6);
});

test('[leak] privileged window counts equal the strict-before brute force on every row', async () => {
  const dir = tempDir('simleak');
  const events = writeSimFixture(dir, 80, 9);
  const ds = await loadDataset(`sim:${dir}`);
  const ev = ds.events.columns;
  let nonZero = 0;
  let sameSecondClicks = 0;
  for (let i = 0; i < ev.size; i++) {
    const user = Number(ds.userIds[ev.userKey![i]!]);
    const item = Number(ds.itemIds[ev.itemKey![i]!]);
    const t = ev.ts![i]!;
    const cat = bruteCategoryClicks(events, user, item, t, 1);
    const shop = bruteCategoryClicks(events, user, item, t, 2);
    assert.equal(rawOf(ds, 'user_category_clicks', i), cat, `row ${i}`);
    assert.equal(rawOf(ds, 'user_shop_clicks', i), shop, `row ${i}`);
    if (cat) nonZero++;
    // Clicks by the same user on the same category in the same second must not be counted.
    sameSecondClicks += events.filter(
      (e) => e.user === user && e.click && e.ts === t && SIM_ITEMS[e.item]![1] === SIM_ITEMS[item]![1],
    ).length;
  }
  assert.ok(nonZero > 5, 'fixture exercises non-zero counts');
  assert.ok(sameSecondClicks > 0, 'fixture has same-second clicks that must stay invisible');
  // The same counter answers unlogged (user, item, t) pairs, e.g. sampled negatives.
  const q = privilegedColumns(
    ds,
    Int32Array.from([0]),
    Int32Array.from([ds.itemIds.indexOf('2')]),
    Float64Array.from([ev.ts![ev.size - 1]! + 1]),
  );
  const tq = ev.ts![ev.size - 1]! + 1;
  assert.equal(
    Math.round(Math.expm1(q.user_category_clicks![0]!)),
    bruteCategoryClicks(events, Number(ds.userIds[0]), 2, tq, 1),
  );
});

test('sim loader: window length option, leave-last-out split, parquet events', async () => {
  const dir = tempDir('simopt');
  const events = writeSimFixture(dir, 50, 3);
  const short = await loadDataset(`sim:${dir}`, { windowSeconds: 3000 });
  const ev = short.events.columns;
  for (let i = 0; i < ev.size; i++) {
    const user = Number(short.userIds[ev.userKey![i]!]);
    const item = Number(short.itemIds[ev.itemKey![i]!]);
    const t = ev.ts![i]!;
    const want = events.filter(
      (e) =>
        e.user === user &&
        e.click &&
        SIM_ITEMS[e.item]![1] === SIM_ITEMS[item]![1] &&
        e.ts >= t - 3000 &&
        e.ts < t,
    ).length;
    assert.equal(rawOf(short, 'user_category_clicks', i), want);
  }
  const llo = await loadDataset(`sim:${dir}`, { split: { kind: 'leave-last-out' } });
  const lev = llo.events.columns;
  for (let u = 0; u < llo.userIds.length; u++) {
    const rows = [...Array(lev.size).keys()].filter((i) => lev.userKey![i] === u);
    if (rows.length < 3) continue;
    const splits = rows.map((i) => llo.split[i]);
    assert.equal(splits.filter((s) => s === 2).length, 1);
    assert.equal(splits.filter((s) => s === 1).length, 1);
    assert.equal(splits[splits.length - 1], 2, 'the last event is test');
    assert.equal(splits[splits.length - 2], 1, 'the one before is valid');
  }
  // The same tables as Parquet load to the same columns.
  const pq = tempDir('simpq');
  writeSimFixture(pq, 50, 3);
  const db = await DuckDb.open();
  await db.run(
    `COPY (SELECT * FROM read_csv('${join(pq, 'events.csv')}', header=true)) TO '${join(pq, 'events.parquet')}' (FORMAT parquet)`,
  );
  db.close();
  rmSync(join(pq, 'events.csv'));
  const fromPq = await loadDataset(`sim:${pq}`);
  const base = await loadDataset(`sim:${dir}`);
  assert.deepEqual([...fromPq.events.columns.cat.item_id!], [...base.events.columns.cat.item_id!]);
  assert.deepEqual(
    [...fromPq.events.columns.num.user_shop_clicks!],
    [...base.events.columns.num.user_shop_clicks!],
  );
});

test('bad input: malformed row, missing column, unknown item, --skip-bad-rows summary', async () => {
  const dir = tempDir('simbad');
  writeSimFixture(
    dir,
    10,
    1,
    'ts,request_id,user_id,item_id,position,click,dwell_s,long_dwell\n100,0,1,2,0,1,60,1\n101,0,1,3,1,yes,0,0\n102,1,2,4,0,0,0,0\n',
  );
  await assert.rejects(loadDataset(`sim:${dir}`), /events\.csv:3: line 3, column 'click'.*expected INTEGER/);
  const ds = await loadDataset(`sim:${dir}`, { skipBadRows: true });
  assert.equal(ds.stats.rows, 2);
  assert.equal(ds.stats.reads.find((r) => r.file.endsWith('events.csv'))!.skipped, 1);
  const miss = tempDir('simmiss');
  writeSimFixture(
    miss,
    10,
    1,
    'ts,request_id,user_id,item_id,position,dwell_s,long_dwell\n100,0,1,2,0,60,1\n',
  );
  await assert.rejects(
    loadDataset(`sim:${miss}`),
    /missing column 'click'; columns present: ts, request_id, user_id, item_id, position, dwell_s, long_dwell/,
  );
  const unk = tempDir('simunk');
  writeSimFixture(
    unk,
    10,
    1,
    'ts,request_id,user_id,item_id,position,click,dwell_s,long_dwell\n100,0,1,2,0,1,60,1\n101,0,1,99,1,0,0,0\n',
  );
  await assert.rejects(
    loadDataset(`sim:${unk}`),
    /1 event\(s\) reference a item missing from the items table, e.g. line 3: '99'/,
  );
  await assert.rejects(loadDataset(`sim:${join(dir, 'nope')}`), /no such file or directory/);
});

test('schema override from a YAML file: hashed ids, minCount, dropped privileged field', async () => {
  const dir = tempDir('simschema');
  writeSimFixture(dir, 60, 8);
  const yamlPath = join(dir, 'schema.yaml');
  writeFileSync(
    yamlPath,
    [
      'fields:',
      '  - { name: user_id, kind: categorical, group: user, hashBuckets: 7 }',
      '  - { name: item_id, kind: categorical, group: item, minCount: 5 }',
      '  - { name: category, kind: categorical, group: item }',
      '  - { name: user_category_clicks, kind: numeric, group: privileged, normalize: none, source: _w_user_category }',
      '  - { name: click, kind: label }',
    ].join('\n'),
  );
  const ds = await loadDataset(`sim:${dir}`, { schema: readSchemaFile(yamlPath) });
  const ev = ds.events.columns;
  assert.equal(ds.schema.tableSize('user_id'), 8, 'hashBuckets + the missing row');
  assert.equal(ds.vocabs.user_id, undefined);
  for (let i = 0; i < ev.size; i++) {
    assert.equal(ev.cat.user_id![i], 1 + hashBucket(ds.userIds[ev.userKey![i]!]!, 7));
  }
  // minCount 5: only items with >= 5 train exposures keep a row.
  for (const tok of ds.vocabs.item_id!.tokens)
    assert.ok(ds.vocabs.item_id!.counts[ds.vocabs.item_id!.lookup(tok) - 1]! >= 5);
  assert.equal(ev.num.user_shop_clicks, undefined, 'a dropped window feature is not computed');
  assert.ok(ev.num.user_category_clicks);
  assert.equal(ev.cat.hour, undefined);
  writeFileSync(yamlPath, 'fields:\n  - { name: user_id, kind: categorical }\n');
  assert.throws(
    () => readSchemaFile(yamlPath),
    /schema\.yaml: invalid schema\n {2}fields\[0\] 'user_id': group is required/,
  );
  writeFileSync(
    yamlPath,
    'fields:\n  - { name: leak, kind: numeric, group: user, source: click }\n  - { name: click, kind: label }\n',
  );
  assert.throws(() => readSchemaFile(yamlPath), /a label can never be a feature/);
});

test('sim loader: partitioned Parquet events are read in part order and equal the CSV of the same options', async () => {
  const opts = { users: 200, items: 300, seed: 4, requestsPerUserDay: 5, events: 6_005 } as const;
  const csvDir = tempDir('simparts-csv');
  const pqDir = tempDir('simparts-pq');
  await simulate({ out: csvDir, ...opts });
  await simulate({ out: pqDir, ...opts, format: 'parquet', partEvents: 700, rowGroupSize: 2048 });
  const parts = readSimulationManifest(pqDir).files.eventParts!;
  assert.ok(parts.length >= 9, `${parts.length} parts`);
  const fromCsv = await loadDataset(`sim:${csvDir}`);
  const fromPq = await loadDataset(`sim:${pqDir}`);
  assert.equal(fromPq.stats.rows, 6_005);
  const a = fromCsv.events.columns;
  const b = fromPq.events.columns;
  for (let i = 1; i < b.size; i++) assert.ok(b.ts![i]! >= b.ts![i - 1]!, `ts order at row ${i}`);
  for (const [name, x, y] of [
    ['ts', a.ts, b.ts],
    ['requestId', a.requestId, b.requestId],
    ['userKey', a.userKey, b.userKey],
    ['itemKey', a.itemKey, b.itemKey],
    ['item_id', a.cat.item_id, b.cat.item_id],
    ['hour', a.cat.hour, b.cat.hour],
    ['click', a.labels.click, b.labels.click],
    ['long_dwell', a.labels.long_dwell, b.labels.long_dwell],
    ['user_category_clicks', a.num.user_category_clicks, b.num.user_category_clicks],
  ] as const) {
    assert.deepEqual([...y!], [...x!], name);
  }
  assert.deepEqual([...fromPq.split], [...fromCsv.split]);
  // Every part is read (and fingerprinted), each with its own report.
  const partReads = fromPq.stats.reads.filter((r) => r.file.includes(`${join('events', 'part-')}`));
  assert.deepEqual(
    partReads.map((r) => r.file),
    parts.map((p) => join(pqDir, p)),
  );
  assert.equal(
    partReads.reduce((s, r) => s + r.rows, 0),
    6_005,
  );
  for (const p of parts) assert.ok(fromPq.fingerprint.files.some((f) => f.path === join(pqDir, p)));
});

/**
 * The fixture's events as two Parquet parts split inside a run of same-second events, so only a
 * row number that continues across parts keeps the log order; `click` is text in part 1 so one
 * value can be bad.
 */
async function writePartFixture(dir: string, badClick = false): Promise<{ split: number }> {
  const events = writeSimFixture(dir, 60, 5);
  let split = 30;
  while (events[split]!.ts !== events[split - 1]!.ts) split++;
  const csv = join(dir, 'events.csv');
  mkdirSync(join(dir, 'events'));
  const db = await DuckDb.open();
  const src = `(SELECT *, row_number() OVER () AS _r FROM read_csv('${csv}', header=true))`;
  await db.run(
    `COPY (SELECT * EXCLUDE (_r) FROM ${src} WHERE _r <= ${split}) TO '${join(dir, 'events', 'part-00000.parquet')}' (FORMAT parquet)`,
  );
  const click = badClick
    ? `CASE WHEN _r = ${split + 3} THEN 'yes' ELSE click::VARCHAR END AS click`
    : 'click';
  await db.run(
    `COPY (SELECT * EXCLUDE (_r, click), ${click} FROM ${src} WHERE _r > ${split}) TO '${join(dir, 'events', 'part-00001.parquet')}' (FORMAT parquet)`,
  );
  db.close();
  rmSync(csv);
  return { split };
}

test('sim loader: parts split inside a same-second run keep log order; a bad value names its part', async () => {
  const csvDir = tempDir('simpart-ref');
  writeSimFixture(csvDir, 60, 5);
  const dir = tempDir('simpart');
  await writePartFixture(dir);
  const ref = await loadDataset(`sim:${csvDir}`);
  const ds = await loadDataset(`sim:${dir}`);
  assert.deepEqual([...ds.events.columns.requestId!], [...ref.events.columns.requestId!]);
  assert.deepEqual([...ds.events.columns.itemKey!], [...ref.events.columns.itemKey!]);
  assert.deepEqual([...ds.events.columns.labels.click!], [...ref.events.columns.labels.click!]);

  const bad = tempDir('simpart-bad');
  const { split } = await writePartFixture(bad, true);
  await assert.rejects(
    loadDataset(`sim:${bad}`),
    /events\/part-00001\.parquet:3: row 3, column 'click': value 'yes' is not INTEGER/,
  );
  const skipped = await loadDataset(`sim:${bad}`, { skipBadRows: true });
  assert.equal(skipped.stats.rows, 59);
  assert.deepEqual(
    skipped.stats.reads.filter((r) => r.skipped).map((r) => [r.file, r.skipped]),
    [[join(bad, 'events', 'part-00001.parquet'), 1]],
  );
  assert.ok(split >= 30);
});

test('sim loader: a gap in the parts, a foreign file or a stale events.csv next to events/ is refused', async () => {
  const dir = tempDir('simpart-gap');
  await writePartFixture(dir);
  renameSync(join(dir, 'events', 'part-00001.parquet'), join(dir, 'events', 'part-00002.parquet'));
  await assert.rejects(
    loadDataset(`sim:${dir}`),
    /events has no part 1 \(found part-00002\.parquet next\); the event log is incomplete/,
  );
  renameSync(join(dir, 'events', 'part-00002.parquet'), join(dir, 'events', 'part-00001.parquet'));
  writeFileSync(join(dir, 'events', 'README'), 'x');
  await assert.rejects(loadDataset(`sim:${dir}`), /events\/README is not an event part/);
  rmSync(join(dir, 'events', 'README'));
  writeFileSync(join(dir, 'events.csv'), 'ts\n');
  await assert.rejects(loadDataset(`sim:${dir}`), /events\/ and events\.csv exist; remove the stale one/);
  rmSync(join(dir, 'events.csv'));
  assert.equal((await loadDataset(`sim:${dir}`)).stats.rows, 60);
});
