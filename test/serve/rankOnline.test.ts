import assert from 'node:assert/strict';
import { test } from 'node:test';
import { privilegedColumns } from '../../src/data/dataset.js';
import { loadDataset } from '../../src/data/loaders/index.js';
import { windowFeatureDecls } from '../../src/serve/exportRun.js';
import { OnlinePrivileged } from '../../src/serve/onlinePrivileged.js';
import { MemoryUserStateStore } from '../../src/serve/userStateStore.js';
import { tempDir, writeSimFixture } from '../data/fixtures.js';

test('online privileged window counts equal the offline training columns for the same history', async () => {
  const dir = tempDir('rank-online');
  const events = writeSimFixture(dir, 200, 33);
  const ds = await loadDataset(`sim:${dir}`);
  assert.deepEqual(
    ds.windowFeatures.map((w) => w.spec.field),
    ['user_category_clicks', 'user_shop_clicks'],
  );
  // What an export with a ranker holds: the declarations and the dataset's key codes per item row.
  const online = new OnlinePrivileged(
    ds.schema,
    windowFeatureDecls(ds),
    Object.fromEntries(ds.windowFeatures.map((w) => [w.spec.field, w.itemKeys])),
    new Map(ds.itemIds.map((id, i) => [id, i])),
    'test',
  );
  const store = new MemoryUserStateStore({ maxEventsPerUser: 1000 });
  for (const e of events) {
    await store.append(String(e.user), [{ itemId: String(e.item), ts: e.ts, labels: { click: e.click } }]);
  }
  const ev = ds.events.columns;
  const nItems = ds.items.size;
  const allRows = Int32Array.from({ length: nItems }, (_, i) => i);
  let nonZero = 0;
  for (let r = 0; r < ev.size; r++) {
    const userKey = ev.userKey![r]!;
    const t = ev.ts![r]!;
    // The whole stored history, later events included: the window must ignore them.
    const history = await store.history(ds.userIds[userKey]!);
    // (a) the logged item: the training column itself.
    const got = online.columns(history, t, Int32Array.of(ev.itemKey![r]!));
    const none = online.columns([], t, Int32Array.of(ev.itemKey![r]!));
    for (const w of ds.windowFeatures) {
      const f = w.spec.field;
      assert.equal(got[f]![0], ev.num[f]![r], `event row ${r} ${f}`);
      if (got[f]![0] !== none[f]![0]) nonZero++;
    }
    // (b) every catalogue item as a candidate (never logged for this user at t): the offline
    // definition the trainer uses for sampled negatives and teacher-ranked lists.
    const want = privilegedColumns(
      ds,
      new Int32Array(nItems).fill(userKey),
      allRows,
      new Float64Array(nItems).fill(t),
    );
    const cand = online.columns(history, t, allRows);
    for (const f of Object.keys(want))
      assert.deepEqual(Array.from(cand[f]!), Array.from(want[f]!), `event row ${r} candidates ${f}`);
  }
  assert.ok(nonZero > 50, `most rows see earlier clicks (${nonZero}): the agreement is not vacuous`);
});

test('an event in the request second is invisible; events outside the catalogue count nowhere', async () => {
  const dir = tempDir('rank-online-edge');
  writeSimFixture(dir, 40, 5);
  const ds = await loadDataset(`sim:${dir}`);
  const w = ds.windowFeatures[0]!;
  const online = new OnlinePrivileged(
    ds.schema,
    [
      {
        field: w.spec.field,
        keyField: w.spec.keyField,
        countLabel: 'click',
        windowSeconds: 3600,
        keysPerItem: 1,
        keySpace: w.counter.keySpace,
      },
    ],
    { [w.spec.field]: w.itemKeys },
    new Map(ds.itemIds.map((id, i) => [id, i])),
    'test',
  );
  const item = ds.itemIds[0]!;
  const click = (ts: number, itemId = item, c = 1) => ({ itemId, ts, labels: { click: c } });
  const t = 1_700_100_000;
  const base = online.columns([], t, Int32Array.of(0))[w.spec.field]![0]!;
  const one = online.columns([click(t - 10)], t, Int32Array.of(0))[w.spec.field]![0]!;
  assert.notEqual(one, base, 'a click in the window changes the value');
  assert.equal(online.columns([click(t - 10), click(t + 0.7)], t, Int32Array.of(0))[w.spec.field]![0], one);
  assert.equal(online.columns([click(t - 10), click(t - 3601)], t, Int32Array.of(0))[w.spec.field]![0], one);
  assert.equal(
    online.columns([click(t - 10), click(t - 5, item, 0)], t, Int32Array.of(0))[w.spec.field]![0],
    one,
  );
  assert.equal(
    online.columns([click(t - 10), click(t - 5, 'no-such-item')], t, Int32Array.of(0))[w.spec.field]![0],
    one,
  );
});
