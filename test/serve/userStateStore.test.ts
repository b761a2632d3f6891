import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadDataset } from '../../src/data/loaders/index.js';
import { Graph } from '../../src/engine/graph.js';
import { Rng } from '../../src/engine/rng.js';
import { createModel, TableRegistry } from '../../src/models/index.js';
import type { TwoTowerModel } from '../../src/models/types.js';
import { exportModels, userFeatureTable } from '../../src/serve/export.js';
import { buildService } from '../../src/serve/server.js';
import { MemoryUserStateStore, OnlineUserState, type UserEvent } from '../../src/serve/userStateStore.js';
import { tempDir, writeSimFixture } from '../data/fixtures.js';

test('online user state equals the offline training columns for the same event history', async () => {
  const dir = tempDir('userstate-online');
  const events = writeSimFixture(dir, 150, 21);
  const ds = await loadDataset(`sim:${dir}`, { userState: { lastN: 4, windows: ['1h', '1d'] } });
  // What the service holds: the export's catalogue columns and item ids are the dataset's.
  const online = new OnlineUserState(
    ds.schema,
    ds.items.columns,
    new Map(ds.itemIds.map((id, i) => [id, i])),
    'test',
  );
  const store = new MemoryUserStateStore({ maxEventsPerUser: 1000 });
  // Events arrive as a stream (each user's in log order), as POST /events would receive them.
  for (const e of events) {
    await store.append(String(e.user), [
      {
        itemId: String(e.item),
        ts: e.ts,
        labels: { click: e.click, long_dwell: e.click && e.dwell > 50 ? 1 : 0 },
      },
    ]);
  }
  const ev = ds.events.columns;
  const seqFields = Object.keys(online.features([], 0).seq);
  const numFields = Object.keys(online.features([], 0).num);
  assert.deepEqual(seqFields.sort(), ['recent_category', 'recent_items']);
  assert.equal(numFields.length, 6);
  let nonTrivial = 0;
  for (let r = 0; r < ev.size; r++) {
    const user = ds.userIds[ev.userKey![r]!]!;
    // The store holds the user's whole history, later events included: as-of t must ignore them.
    const got = online.features(await store.history(user), ev.ts![r]!);
    for (const f of seqFields) {
      const L = got.seq[f]!.maxLen;
      assert.deepEqual(
        Array.from(got.seq[f]!.ids),
        Array.from(ev.seq[f]!.ids.subarray(r * L, r * L + L)),
        `row ${r} ${f}`,
      );
    }
    for (const f of numFields) assert.equal(got.num[f]![0], ev.num[f]![r], `row ${r} ${f}`);
    if (got.seq['recent_items']!.ids[0]! >= 0) nonTrivial++;
  }
  assert.ok(nonTrivial > 100, 'most rows have a non-empty history (the agreement is not vacuous)');
});

test('the memory store keeps the newest events in time order, bounded per user and in users', async () => {
  const store = new MemoryUserStateStore({ maxEventsPerUser: 3, maxUsers: 2 });
  const ev = (itemId: string, ts: number): UserEvent => ({ itemId, ts });
  await store.append('a', [ev('x', 30), ev('y', 10.9), ev('z', 20)]);
  await store.append('a', [ev('w', 10.2)]); // older than everything kept, and same second as 'y'
  // Truncated to seconds; ties keep arrival order; the oldest beyond the bound is dropped.
  assert.deepEqual(
    (await store.history('a')).map((e) => [e.itemId, e.ts]),
    [
      ['w', 10],
      ['z', 20],
      ['x', 30],
    ],
  );
  await store.append('b', [ev('x', 1)]);
  await store.append('a', [ev('v', 40)]);
  await store.append('c', [ev('x', 1)]); // evicts 'b', the least recently updated
  assert.equal(await store.users(), 2);
  assert.deepEqual(await store.history('b'), []);
  assert.deepEqual(
    (await store.history('a')).map((e) => e.itemId),
    ['z', 'x', 'v'],
  );
});

test('the memory store rejects a bad event by position and changes nothing', async () => {
  const store = new MemoryUserStateStore();
  await assert.rejects(
    () =>
      store.append('u', [
        { itemId: 'a', ts: 5 },
        { itemId: 'b', ts: Number.NaN },
      ]),
    /events\[1\]\.ts: expected unix seconds/,
  );
  await assert.rejects(
    () => store.append('u', [{ itemId: '', ts: 5 }]),
    /events\[0\]\.item_id: expected a non-empty/,
  );
  await assert.rejects(
    () => store.append('u', [{ itemId: 'a', ts: 5, labels: { click: Number.POSITIVE_INFINITY } }]),
    /events\[0\]\.labels\.click: expected a finite number/,
  );
  assert.deepEqual(await store.history('u'), []);
  assert.throws(() => new MemoryUserStateStore({ maxUsers: 0 }), /maxUsers must be an integer >= 1/);
});

test('the service computes user state from POST /events exactly as the training rows had it', async () => {
  const root = tempDir('userstate-serve');
  const data = join(root, 'data');
  const events = writeSimFixture(data, 150, 21);
  const ds = await loadDataset(`sim:${data}`, { userState: { lastN: 4, windows: ['1h', '1d'] } });
  const model = createModel(
    {
      type: 'two-tower',
      name: 'student',
      embeddingDim: 8,
      userHidden: [16, 8],
      itemHidden: [16, 8],
      scoreFn: 'dot',
      label: 'click',
    },
    ds.schema,
    new TableRegistry({ initStd: 0.3 }),
    new Rng(4),
  ) as TwoTowerModel;
  assert.ok(model.userTowerFields.includes('recent_items'), 'the user tower reads the user state');
  exportModels(
    {
      schema: ds.schema,
      vocabs: ds.vocabs,
      items: ds.items.columns,
      itemIds: ds.itemIds,
      users: userFeatureTable(ds, model.userTowerFields),
      recall: model,
      batchSize: 64,
    },
    join(root, 'export'),
  );
  const svc = await buildService({ exportRoot: root, exportDir: 'export', index: 'exact' });
  // A late row whose user has history: its user-tower input is what training saw.
  const ev = ds.events.columns;
  let r = ev.size - 1;
  while (ev.seq['recent_items']!.ids[r * 4 + 2]! < 0) r--;
  const user = ds.userIds[ev.userKey![r]!]!;
  const t = ev.ts![r]!;
  const mine = events.filter((e) => String(e.user) === user);
  const post = await svc.app.inject({
    method: 'POST',
    url: '/events',
    payload: {
      user_id: user,
      events: mine.map((e) => ({
        item_id: String(e.item),
        ts: e.ts,
        labels: { click: e.click, long_dwell: e.click && e.dwell > 50 ? 1 : 0 },
      })),
    },
  });
  assert.equal(post.statusCode, 200, post.body);
  const hour = String(Math.floor((t % 86400) / 3600));
  const rec = await svc.app.inject({
    method: 'POST',
    url: '/recommend',
    payload: { user_id: user, features: { hour }, ts: t, n: 6, m: 6, k: 6 },
  });
  assert.equal(rec.statusCode, 200, rec.body);
  const g = new Graph({ training: false });
  const uv = model.userVectors(g, ds.events.slice(r, r + 1)).data;
  const iv = model.itemVectors(g, ds.items.slice(0, ds.items.size)).data;
  const D = uv.length;
  const body = rec.json() as { items: { id: string; scores: { recall: number } }[] };
  assert.equal(body.items.length, 6);
  for (const it of body.items) {
    const row = ds.itemIds.indexOf(it.id);
    let want = 0;
    for (let d = 0; d < D; d++) want += uv[d]! * iv[row * D + d]!;
    assert.ok(
      Math.abs(it.scores.recall - want) < 1e-4,
      `item ${it.id}: served ${it.scores.recall}, offline ${want}`,
    );
  }
  // The state matters: as of the user's first event (nothing before it) the scores differ.
  const early = await svc.app.inject({
    method: 'POST',
    url: '/recommend',
    payload: { user_id: user, features: { hour }, ts: mine[0]!.ts, n: 6, m: 6, k: 6 },
  });
  const earlyScores = (early.json() as typeof body).items.map((x) => x.scores.recall);
  assert.notDeepEqual(
    earlyScores,
    body.items.map((x) => x.scores.recall),
  );
  const bad = await svc.app.inject({
    method: 'POST',
    url: '/events',
    payload: { user_id: user, events: [{ item_id: 'x', ts: -1 }] },
  });
  assert.equal(bad.statusCode, 400);
  await svc.app.close();
});
