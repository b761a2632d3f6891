import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildService, type Service } from '../../src/serve/server.js';
import { tinyExport, userToken } from './fixture.js';

describe('HTTP service', () => {
  const root = mkdtempSync(join(tmpdir(), 'kdrec-serve-root-'));
  const outside = mkdtempSync(join(tmpdir(), 'kdrec-serve-outside-'));
  let v1: ReturnType<typeof tinyExport>;
  let v2: ReturnType<typeof tinyExport>;
  let svc: Service;

  before(async () => {
    v1 = tinyExport({ scoreFn: 'dot', seed: 3, dir: join(root, 'v1') });
    v2 = tinyExport({ scoreFn: 'dot', seed: 4, dir: join(root, 'v2') });
    tinyExport({ scoreFn: 'dot', seed: 5, dir: join(outside, 'evil') });
    mkdirSync(join(root, 'empty'));
    symlinkSync(join(outside, 'evil'), join(root, 'link'));
    svc = await buildService({ exportRoot: root, exportDir: 'v1', bodyLimit: 2048, n: 40, m: 20, k: 5 });
  });
  after(async () => {
    await svc.app.close();
  });

  const recommend = (payload: unknown) =>
    svc.app.inject({ method: 'POST', url: '/recommend', payload: payload as Record<string, unknown> });

  test('GET /health reports the export', async () => {
    const r = await svc.app.inject({ method: 'GET', url: '/health' });
    assert.equal(r.statusCode, 200);
    const j = r.json();
    assert.equal(j.status, 'ok');
    assert.equal(j.items, 60);
    assert.equal(j.prerank, true);
  });

  test('POST /recommend returns K items with per-stage scores, ordered by the pre-ranker', async () => {
    const r = await recommend({ user_id: userToken(5), features: { hour: '003' }, k: 5 });
    assert.equal(r.statusCode, 200, r.body);
    const j = r.json();
    assert.equal(j.items.length, 5);
    assert.equal(j.coldStart, false);
    assert.deepEqual(j.stages, ['recall', 'prerank']);
    for (let i = 1; i < 5; i++) assert.ok(j.items[i - 1].scores.prerank >= j.items[i].scores.prerank);
    for (const it of j.items) {
      assert.match(it.id, /^i\d{3}$/);
      assert.equal(typeof it.scores.recall, 'number');
      assert.equal(it.scores.rank, null);
    }
  });

  test('an unknown user takes the cold-start path', async () => {
    const r = await recommend({ user_id: 'stranger', recent: ['i001', 'i002'] });
    assert.equal(r.statusCode, 200);
    assert.equal(r.json().coldStart, true);
    assert.equal(r.json().items.length, 5);
  });

  test('malformed, mistyped, oversized and unknown-field bodies get 4xx with a clear message', async () => {
    const bad = await svc.app.inject({
      method: 'POST',
      url: '/recommend',
      headers: { 'content-type': 'application/json' },
      payload: '{"user_id": "u1",',
    });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().message, /JSON/);
    const typed = await recommend({ user_id: 'u1', k: 'ten' });
    assert.equal(typed.statusCode, 400);
    assert.match(typed.json().message, /invalid request body: body\/k must be integer/);
    const extra = await recommend({ user_id: 'u1', admin: true });
    assert.equal(extra.statusCode, 400);
    assert.match(extra.json().message, /must NOT have additional properties/);
    const big = await recommend({ user_id: 'u1', recent: Array.from({ length: 400 }, (_, i) => `i${i}`) });
    assert.equal(big.statusCode, 413);
    assert.match(big.json().message, /exceeds the limit of 2048 bytes/);
    const field = await recommend({ user_id: 'u1', features: { price: 3 } });
    assert.equal(field.statusCode, 400);
    assert.match(field.json().message, /features\.price: not a user or context field/);
    const value = await recommend({ features: { activity: 'lots' } });
    assert.equal(value.statusCode, 400);
    assert.match(value.json().message, /features\.activity: expected a finite number/);
    const sizes = await recommend({ k: 30 });
    assert.equal(sizes.statusCode, 400);
    assert.match(sizes.json().message, /need k <= m <= n/);
  });

  test('reload refuses paths outside the export root and keeps serving the old export', async () => {
    const before = (await svc.app.inject({ method: 'GET', url: '/health' })).json().exportCreatedAt;
    for (const [dir, code] of [
      ['../', 403],
      [join(outside, 'evil'), 403],
      ['v1/../../', 403],
      ['link', 403],
      ['missing', 404],
      ['empty', 400],
    ] as const) {
      const r = await svc.app.inject({ method: 'POST', url: '/admin/reload', payload: { dir } });
      assert.equal(r.statusCode, code, `${dir}: ${r.body}`);
    }
    const r = await svc.app.inject({ method: 'POST', url: '/admin/reload', payload: { dir: 'empty' } });
    assert.match(r.json().message, /manifest\.json is missing/);
    assert.equal((await svc.app.inject({ method: 'GET', url: '/health' })).json().exportCreatedAt, before);
  });

  test('hot reload swaps exports atomically with no failed request', async () => {
    const body = { user_id: userToken(7), k: 5 };
    const pending: Promise<{ statusCode: number; body: string }>[] = [];
    for (let i = 0; i < 60; i++) {
      pending.push(recommend(body));
      if (i % 20 === 10) {
        pending.push(
          svc.app.inject({
            method: 'POST',
            url: '/admin/reload',
            payload: { dir: i % 40 === 10 ? 'v2' : 'v1' },
          }),
        );
      }
    }
    const res = await Promise.all(pending);
    for (const r of res) assert.equal(r.statusCode, 200, r.body);
    const exports = new Set(
      res.filter((r) => r.body.includes('"items"')).map((r) => JSON.parse(r.body).export),
    );
    assert.ok(exports.size >= 1);
    const swap = await svc.app.inject({ method: 'POST', url: '/admin/reload', payload: { dir: 'v2' } });
    assert.equal(swap.statusCode, 200);
    assert.equal(swap.json().exportCreatedAt, v2.manifest.createdAt);
    const after = await recommend(body);
    assert.equal(after.json().export, v2.manifest.createdAt);
    assert.notEqual(v1.manifest.createdAt === v2.manifest.createdAt, true);
  });

  test('GET /metrics is Prometheus text with request counts and stage histograms', async () => {
    const r = await svc.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(r.statusCode, 200);
    assert.match(r.headers['content-type'] as string, /text\/plain/);
    assert.match(r.body, /# TYPE kdrec_http_requests_total counter/);
    assert.match(r.body, /kdrec_http_requests_total\{route="\/recommend",status="200"\} \d+/);
    assert.match(r.body, /kdrec_http_requests_total\{route="\/recommend",status="413"\} 1/);
    assert.match(r.body, /kdrec_cascade_stage_duration_seconds_bucket\{le="\+Inf",stage="recall"\} \d+/);
    assert.match(r.body, /kdrec_cascade_stage_duration_seconds_count\{stage="prerank"\} \d+/);
    assert.match(r.body, /kdrec_cold_start_requests_total 1/);
  });
});
