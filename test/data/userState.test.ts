import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LoadedDataset } from '../../src/data/dataset.js';
import { loadDataset } from '../../src/data/loaders/index.js';
import { recallSamples } from '../../src/data/samples.js';
import { Schema } from '../../src/data/schema.js';
import {
  computeUserState,
  type UserStateLayout,
  userStateCatalog,
  userStateLayout,
  windowSeconds,
} from '../../src/data/userState.js';
import { Rng } from '../../src/engine/rng.js';
import { SIM_ITEMS, type SimEvent, tempDir, writeMovielensFixture, writeSimFixture } from './fixtures.js';

const LAYOUT: UserStateLayout = {
  items: { field: 'recent_items', itemField: 'item_id', maxLen: 3 },
  keys: { field: 'recent_category', keyField: 'category', maxLen: 2 },
  counts: [{ field: 'recent_events_1h', window: '1h', seconds: 3600 }],
  rates: [{ field: 'recent_click_rate_1h', label: 'click', window: '1h', seconds: 3600 }],
};

/** Catalogue: row r has item-table row 10 + r and category row 20 + r % 2. */
const CATALOG = userStateCatalog(
  LAYOUT,
  {
    size: 5,
    cat: { item_id: Int32Array.from([10, 11, 12, 13, 14]), category: Int32Array.from([20, 21, 20, 21, 20]) },
    seq: {},
    num: {},
    labels: {},
    extra: {},
  },
  'test catalogue',
);

test('user state never sees the current event or any event of the same second (leak test)', () => {
  // User 7: events at t = 100, 200, 200 (same second), 300, 5000; user 8 at 150. Given out of time order.
  const log = {
    user: Int32Array.from([7, 7, 8, 7, 7, 7]),
    ts: Float64Array.from([200, 100, 150, 300, 200, 5000]),
    itemRow: Int32Array.from([2, 1, 4, 3, 0, -1]),
    labels: { click: Float32Array.from([0, 1, 1, 1, 1, 0]) },
  };
  // Each query sits exactly on an event's time: that event (and its same-second sibling) must be invisible.
  const q = computeUserState(
    LAYOUT,
    CATALOG,
    log,
    Int32Array.from([7, 7, 7, 7, 8, 9]),
    Float64Array.from([100, 200, 300, 5000, 150, 300]),
  );
  const items = (r: number) => Array.from(q.seq['recent_items']!.ids.subarray(r * 3, r * 3 + 3));
  const keys = (r: number) => Array.from(q.seq['recent_category']!.ids.subarray(r * 2, r * 2 + 2));
  const count = q.num['recent_events_1h']!;
  const rate = q.num['recent_click_rate_1h']!;
  // t = 100: nothing before it.
  assert.deepEqual(items(0), [-1, -1, -1]);
  assert.equal(count[0], 0);
  assert.equal(rate[0], 0);
  // t = 200: only the event at 100 (the two events at 200 are the request's own second).
  assert.deepEqual(items(1), [11, -1, -1]);
  assert.deepEqual(keys(1), [21, -1]);
  assert.equal(count[1], 1);
  assert.equal(rate[1], 1);
  // t = 300: 100, then the two at 200 in log order (row 2 before row 0), newest last; 300 itself invisible.
  assert.deepEqual(items(2), [11, 12, 10]);
  assert.deepEqual(keys(2), [20, 20]);
  assert.equal(count[2], 3);
  assert.ok(Math.abs(rate[2]! - 2 / 3) < 1e-6);
  // t = 5000: the 1 h window [1400, 5000) is empty, the last 3 items are 200, 200, 300.
  assert.deepEqual(items(3), [12, 10, 13]);
  assert.equal(count[3], 0);
  assert.equal(rate[3], 0);
  // Other users see only their own history; an unknown user sees nothing.
  assert.deepEqual(items(4), [-1, -1, -1]);
  assert.deepEqual(items(5), [-1, -1, -1]);
});

test('user state: an item outside the catalogue embeds as the OOV row and has no keys', () => {
  const log = {
    user: Int32Array.from([1, 1]),
    ts: Float64Array.from([10, 20]),
    itemRow: Int32Array.from([-1, 3]),
    labels: { click: Float32Array.from([1, 1]) },
  };
  const q = computeUserState(LAYOUT, CATALOG, log, Int32Array.of(1), Float64Array.of(30));
  assert.deepEqual(Array.from(q.seq['recent_items']!.ids), [0, 13, -1]);
  assert.deepEqual(Array.from(q.seq['recent_category']!.ids), [21, -1]);
  assert.throws(
    () =>
      computeUserState(
        LAYOUT,
        CATALOG,
        { ...log, itemRow: Int32Array.from([9, 3]) },
        Int32Array.of(1),
        Float64Array.of(30),
      ),
    /event 0 has catalogue row 9, the catalogue has 5/,
  );
});

test('windowSeconds parses durations and refuses the rest', () => {
  assert.equal(windowSeconds('90s'), 90);
  assert.equal(windowSeconds('2h'), 7200);
  assert.equal(windowSeconds('7d'), 7 * 86400);
  assert.equal(windowSeconds('1w'), 7 * 86400);
  assert.equal(windowSeconds('all'), Number.POSITIVE_INFINITY);
  assert.throws(() => windowSeconds('1y'), /window '1y' must look like/);
  assert.throws(() => windowSeconds('0d'), /longer than 0/);
});

test('userStateLayout refuses a _state source in the wrong group or of the wrong kind', () => {
  const base = [
    { name: 'item_id', kind: 'categorical', group: 'item' },
    { name: 'click', kind: 'label' },
  ];
  const bad = new Schema({
    fields: [...base, { name: 'recent_x', kind: 'numeric', group: 'context', source: '_state.count:1d' }],
  });
  assert.throws(() => userStateLayout(bad), /'recent_x'.*group must be 'user'/);
  const wrongKind = new Schema({
    fields: [...base, { name: 'recent_x', kind: 'numeric', group: 'user', source: '_state.items:item_id' }],
  });
  assert.throws(() => userStateLayout(wrongKind), /is not a user-state source/);
  assert.equal(userStateLayout(new Schema({ fields: base })), null);
});

/** Brute force from the raw fixture events: what a user had strictly before t. */
function before(events: SimEvent[], user: number, t: number): SimEvent[] {
  // The loader orders by (time, file line); a stable sort by time keeps file order among ties.
  return events.filter((e) => e.user === user && e.ts < t).sort((a, b) => a.ts - b.ts);
}

async function simWithState(): Promise<{ ds: LoadedDataset; events: SimEvent[] }> {
  const dir = tempDir('userstate-sim');
  const events = writeSimFixture(dir, 120, 11);
  const ds = await loadDataset(`sim:${dir}`, { userState: { lastN: 3, windows: ['2h', 'all'] } });
  return { ds, events };
}

test('sim loader with user state: every row equals a brute-force count of the strictly earlier events', async () => {
  const { ds, events } = await simWithState();
  const ev = ds.events.columns;
  const itemVocab = ds.vocabs['item_id']!;
  const catVocab = ds.vocabs['category']!;
  let nonEmpty = 0;
  for (let r = 0; r < ev.size; r++) {
    const user = Number(ds.userIds[ev.userKey![r]!]);
    const t = ev.ts![r]!;
    const prior = before(events, user, t);
    if (prior.length > 0) nonEmpty++;
    const last = prior.slice(-3);
    const wantItems = [...last.map((e) => itemVocab.lookup(String(e.item))), -1, -1, -1].slice(0, 3);
    assert.deepEqual(
      Array.from(ev.seq['recent_items']!.ids.subarray(r * 3, r * 3 + 3)),
      wantItems,
      `row ${r}`,
    );
    const cats = prior.map((e) => catVocab.lookup(String(SIM_ITEMS[e.item]![1]))).slice(-3);
    assert.deepEqual(
      Array.from(ev.seq['recent_category']!.ids.subarray(r * 3, r * 3 + 3)),
      [...cats, -1, -1, -1].slice(0, 3),
      `row ${r} categories`,
    );
    for (const [w, secs] of [
      ['2h', 7200],
      ['all', Number.POSITIVE_INFINITY],
    ] as const) {
      const inWin = prior.filter((e) => e.ts >= t - secs);
      // log1p-normalised count: invert to the raw count.
      assert.equal(
        Math.round(Math.expm1(ev.num[`recent_events_${w}`]![r]!)),
        inWin.length,
        `row ${r} count ${w}`,
      );
      const clicks = inWin.filter((e) => e.click === 1).length;
      const wantRate = inWin.length ? clicks / inWin.length : 0;
      assert.ok(
        Math.abs(ev.num[`recent_click_rate_${w}`]![r]! - wantRate) < 1e-6,
        `row ${r} click rate ${w}`,
      );
    }
  }
  assert.ok(nonEmpty > 60, 'most rows have some history (the check is not vacuous)');
});

test('user state fields are user-group: the two-tower user tower may read them, the item tower may not', async () => {
  const { ds } = await simWithState();
  const names = ds.schema.features.filter((f) => f.source.startsWith('_state.')).map((f) => f.name);
  assert.deepEqual(names.sort(), [
    'recent_category',
    'recent_click_rate_2h',
    'recent_click_rate_all',
    'recent_events_2h',
    'recent_events_all',
    'recent_items',
    'recent_long_dwell_rate_2h',
    'recent_long_dwell_rate_all',
  ]);
  for (const n of names) assert.equal(ds.schema.field(n).group, 'user');
  // The last-N items read the item tower's item-id table; the categories the category table.
  assert.equal(ds.schema.field('recent_items').table, ds.schema.field('item_id').table);
  assert.equal(ds.schema.field('recent_category').table, ds.schema.field('category').table);
  const userView = ds.schema.view(['user', 'context'], 'twoTower.userTower');
  for (const n of names) assert.equal(userView.field(n).name, n);
  const itemView = ds.schema.view(['item'], 'twoTower.itemTower');
  assert.throws(() => itemView.field('recent_items'), /may not read user field 'recent_items'/);
  // Train-split statistics exist for every numeric state field (log1p counts, raw rates).
  for (const n of names.filter((x) => ds.schema.field(x).kind === 'numeric'))
    assert.ok(ds.schema.numericStats(n));
});

test('splits and recall samples carry the state of their source row', async () => {
  const { ds } = await simWithState();
  const ev = ds.events.columns;
  let offset = 0;
  for (const name of ['train', 'valid', 'test'] as const) {
    const s = ds.splits[name].columns;
    for (let i = 0; i < s.size; i++) {
      assert.equal(
        s.num['recent_events_all']![i],
        ev.num['recent_events_all']![offset + i],
        `${name} row ${i}`,
      );
      assert.deepEqual(
        Array.from(s.seq['recent_items']!.ids.subarray(i * 3, i * 3 + 3)),
        Array.from(ev.seq['recent_items']!.ids.subarray((offset + i) * 3, (offset + i) * 3 + 3)),
      );
    }
    offset += s.size;
  }
  const rs = recallSamples(ds, { negatives: 2, sampler: 'uniform', rng: new Rng(3) }).columns;
  assert.ok(rs.size > 0);
  for (let g = 0; g < rs.size; g += 3) {
    for (const j of [1, 2]) {
      assert.equal(
        rs.num['recent_events_2h']![g + j],
        rs.num['recent_events_2h']![g],
        'a negative keeps the positive’s state',
      );
      assert.deepEqual(
        Array.from(rs.seq['recent_items']!.ids.subarray((g + j) * 3, (g + j) * 3 + 3)),
        Array.from(rs.seq['recent_items']!.ids.subarray(g * 3, g * 3 + 3)),
      );
    }
  }
});

test('movielens loader with user state: last-N genres come from the multi-hot genre field', async () => {
  const dir = tempDir('userstate-ml');
  writeMovielensFixture(dir);
  const ds = await loadDataset(`movielens-100k:${dir}`, { userState: { lastN: 4, windows: ['1d'] } });
  const f = ds.schema.field('recent_genres');
  assert.equal(f.table, ds.schema.field('genres').table);
  const ev = ds.events.columns;
  const genres = ds.vocabs['genres']!;
  // User 1 rates movie 1 at 1000, movies 3 and 2 at 1010, movie 4 at 200000. At 200000 the last 4
  // genre ids are the tail of [Animation, Children's, Comedy | Action, Crime, Thriller | Drama, War]
  // in time order (ties in file order: movie 3 before movie 2).
  const r = Array.from({ length: ev.size }, (_, i) => i).find((i) => ev.ts![i] === 200000)!;
  const want = ['Crime', 'Thriller', 'Drama', 'War'].map((g) => genres.lookup(g));
  assert.deepEqual(Array.from(ev.seq['recent_genres']!.ids.subarray(r * 4, r * 4 + 4)), want);
  assert.ok(
    ev.num['recent_long_engagement_rate_1d'] !== undefined,
    'rates use long_engagement, not the all-ones click',
  );
  // At 1010 only the rating at 1000 is visible (the other 1010 rating is the same second).
  const r1010 = Array.from({ length: ev.size }, (_, i) => i).filter((i) => ev.ts![i] === 1010);
  for (const i of r1010)
    assert.equal(Math.round(Math.expm1(ev.num['recent_events_1d']![i]!)), 1, 'same-second rating invisible');
});

test('user state on a loader that does not declare it is refused by name', async () => {
  await assert.rejects(
    () => loadDataset('kuairand:/nonexistent/file.csv', { userState: { lastN: 5, windows: ['1d'] } }),
    /dataset kuairand: user state is not declared for this loader \(available for sim, movielens-100k\)/,
  );
});
