import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Batch } from '../../src/data/batch.js';
import { Graph } from '../../src/engine/graph.js';
import { loadExport, type ServingBundle } from '../../src/serve/bundle.js';
import { buildService, type Service } from '../../src/serve/server.js';
import { itemToken, type TinyExport, tinyExport, userToken } from './fixture.js';

describe('HTTP service with a ranker (recall → pre-rank → rank)', () => {
  const root = mkdtempSync(join(tmpdir(), 'kdrec-serve-rank-'));
  let ex: TinyExport;
  let bundle: ServingBundle;
  let svc: Service;
  const T = 1_700_000_000;
  const user = userToken(5);
  // k = m: every pre-ranked candidate comes back, so each one's rank score can be checked.
  const req = { user_id: user, features: { hour: '003' }, ts: T, n: 60, m: 30, k: 30 };

  before(async () => {
    ex = tinyExport({ scoreFn: 'dot', seed: 3, dir: join(root, 'r1'), ranker: {} });
    bundle = loadExport(ex.dir);
    svc = await buildService({ exportRoot: root, exportDir: 'r1' });
  });
  after(async () => {
    await svc.app.close();
  });

  const recommend = async (payload: Record<string, unknown>) => {
    const r = await svc.app.inject({ method: 'POST', url: '/recommend', payload });
    assert.equal(r.statusCode, 200, r.body);
    return r.json() as {
      items: { id: string; scores: { recall: number; prerank: number; rank: number } }[];
      stages: string[];
      timingsMs: Record<string, number>;
    };
  };

  /** The in-memory teacher on (user, item rows, uc_clicks): the scores the service must return. */
  const modelScores = (rows: number[], ucClicks: (row: number) => number): Float32Array => {
    const u = bundle.encodeUser({ userId: user, features: { hour: '003' } }).batch;
    const n = rows.length;
    const tile = (c: Int32Array) => new Int32Array(n).fill(c[0]!);
    const b: Batch = {
      size: n,
      cat: {
        user_id: tile(u.cat['user_id']!),
        age: tile(u.cat['age']!),
        hour: tile(u.cat['hour']!),
        item_id: Int32Array.from(rows, (r) => ex.items.cat['item_id']![r]!),
        category: Int32Array.from(rows, (r) => ex.items.cat['category']![r]!),
      },
      seq: {
        hist: { ids: Int32Array.from({ length: n * 4 }, (_, i) => u.seq['hist']!.ids[i % 4]!), maxLen: 4 },
        tags: {
          ids: Int32Array.from(
            { length: n * 3 },
            (_, i) => ex.items.seq['tags']!.ids[rows[(i / 3) | 0]! * 3 + (i % 3)]!,
          ),
          maxLen: 3,
        },
      },
      num: {
        activity: new Float32Array(n).fill(u.num['activity']![0]!),
        price: Float32Array.from(rows, (r) => ex.items.num['price']![r]!),
        uc_clicks: Float32Array.from(rows, ucClicks),
      },
      labels: {},
      extra: {},
    };
    return ex.ranker!.forward(new Graph({ training: false, grad: false }), b).logits['ctr']!.data.slice();
  };
  const rowOf = (id: string) => Number(id.slice(1)) - 1;
  const categoryOf = (row: number) => ex.items.cat['category']![row]!;

  test('the final list is ordered by finite rank scores equal to the in-memory teacher (no events: counts 0)', async () => {
    const j = await recommend(req);
    assert.deepEqual(j.stages, ['recall', 'prerank', 'rank']);
    assert.equal(j.items.length, 30);
    assert.equal(typeof j.timingsMs['rank'], 'number');
    for (const it of j.items) assert.ok(Number.isFinite(it.scores.rank), `${it.id}: rank ${it.scores.rank}`);
    for (let i = 1; i < j.items.length; i++)
      assert.ok(j.items[i - 1]!.scores.rank >= j.items[i]!.scores.rank);
    const rows = j.items.map((it) => rowOf(it.id));
    const want = modelScores(rows, () => 0);
    j.items.forEach((it, i) => {
      assert.ok(Math.abs(it.scores.rank - want[i]!) <= 1e-5, `${it.id}: ${it.scores.rank} vs ${want[i]}`);
    });
  });

  test('posted clicks change the rank scores of items in the clicked category, as the window count says', async () => {
    const before = await recommend(req);
    const c = categoryOf(rowOf(before.items[0]!.id));
    // Items of category c: row r has category 1 + r % 5.
    const inC = Array.from({ length: 60 }, (_, r) => r).filter((r) => categoryOf(r) === c);
    const post = await svc.app.inject({
      method: 'POST',
      url: '/events',
      payload: {
        user_id: user,
        events: [
          { item_id: itemToken(inC[0]! + 1), ts: T - 100, labels: { click: 1 } },
          { item_id: itemToken(inC[1]! + 1), ts: T - 5000, labels: { click: 1 } },
          { item_id: itemToken(inC[2]! + 1), ts: T - 50, labels: { click: 0 } }, // not a click
          { item_id: itemToken(inC[3]! + 1), ts: T - 90_000, labels: { click: 1 } }, // outside 1 day
          { item_id: itemToken(inC[4]! + 1), ts: T, labels: { click: 1 } }, // the request's second
        ],
      },
    });
    assert.equal(post.statusCode, 200, post.body);
    const afterJ = await recommend(req);
    const rows = afterJ.items.map((it) => rowOf(it.id));
    const want = modelScores(rows, (r) => (categoryOf(r) === c ? 2 : 0));
    afterJ.items.forEach((it, i) => {
      assert.ok(Math.abs(it.scores.rank - want[i]!) <= 1e-5, `${it.id}: ${it.scores.rank} vs ${want[i]}`);
    });
    const beforeOf = new Map(before.items.map((it) => [it.id, it.scores.rank]));
    let changed = 0;
    for (const it of afterJ.items) {
      const old = beforeOf.get(it.id)!;
      if (categoryOf(rowOf(it.id)) === c) {
        assert.notEqual(it.scores.rank, old, `${it.id} (category ${c}) should move`);
        changed++;
      } else assert.equal(it.scores.rank, old, `${it.id} (another category) should not move`);
    }
    assert.ok(changed >= 1);
  });

  test('/metrics has the rank stage histogram', async () => {
    const r = await svc.app.inject({ method: 'GET', url: '/metrics' });
    assert.match(r.body, /kdrec_cascade_stage_duration_seconds_count\{stage="rank"\} [1-9]/);
  });
});
