/**
 * `kdrec serve --workers 2 --admin-token-file F` (the compiled CLI in a child process): every
 * worker demands the token for writes, events posted with it still reach the other worker, and a
 * two-phase reload to a corrupt export is refused naming the file while both workers keep serving
 * the old model.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { itemToken, tinyExport, userToken } from './fixture.js';
import { call, KDREC_CLI as cli, spawnServe } from './serveChild.js';

const TOKEN = 'cluster-admin-token-42';

describe('kdrec serve --workers 2 with an admin token', {
  skip: existsSync(cli) ? false : `${cli} not built (npm run build)`,
}, () => {
  const root = mkdtempSync(join(tmpdir(), 'kdrec-cluster-auth-'));
  const v1 = tinyExport({ scoreFn: 'dot', seed: 3, dir: join(root, 'v1'), ranker: {} });
  const v2 = tinyExport({ scoreFn: 'dot', seed: 4, dir: join(root, 'v2'), ranker: {} });
  cpSync(v2.dir, join(root, 'corrupt'), { recursive: true });
  const weights = join(root, 'corrupt', 'weights.safetensors');
  truncateSync(weights, Math.floor(statSync(weights).size / 2));
  const tokenFile = join(root, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  const auth = { authorization: `Bearer ${TOKEN}` };
  let server: ChildProcess;
  let base = '';

  const T = 1_700_000_000;
  const rec = { user_id: userToken(5), features: { hour: '003' }, ts: T, n: 60, m: 30, k: 30 };
  /** /recommend over `n` fresh connections: the distinct answers and the workers that gave them. */
  async function answers(n: number): Promise<Set<string>> {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const r = await call(base, 'POST', '/recommend', rec);
      assert.equal(r.status, 200, r.text);
      seen.add(JSON.stringify(r.json.items));
    }
    return seen;
  }
  async function healthSample(n: number): Promise<{ pids: Set<number>; exports: Set<string> }> {
    const pids = new Set<number>();
    const exports = new Set<string>();
    for (let i = 0; i < n; i++) {
      const h = await call(base, 'GET', '/health');
      pids.add(h.json.pid);
      exports.add(h.json.exportCreatedAt);
    }
    return { pids, exports };
  }

  before(async () => {
    const env = { ...process.env };
    delete env['KDREC_ADMIN_TOKEN'];
    const child = await spawnServe(
      ['--export', v1.dir, '--workers', '2', '--port', '0', '--admin-token-file', tokenFile],
      env,
    );
    server = child.server;
    base = child.base;
  });
  after(() => {
    if (server.exitCode === null) server.kill('SIGTERM');
  });

  test('every worker answers a write without the token with 401', async () => {
    assert.equal((await healthSample(6)).pids.size, 2);
    for (let i = 0; i < 6; i++) {
      const ev = await call(base, 'POST', '/events', {
        user_id: userToken(5),
        events: [{ item_id: itemToken(1), ts: T - 10, labels: { click: 1 } }],
      });
      assert.equal(ev.status, 401, ev.text);
      assert.match(String(ev.headers['www-authenticate']), /^Bearer/);
      const rl = await call(base, 'POST', '/admin/reload', { dir: 'v2' }, { authorization: 'Bearer nope' });
      assert.equal(rl.status, 401, rl.text);
    }
    assert.deepEqual([...(await healthSample(4)).exports], [v1.manifest.createdAt]);
  });

  test('events posted with the token reach both workers (the ranker sees them everywhere)', async () => {
    const before = await answers(4);
    assert.equal(before.size, 1, 'both workers answer alike');
    // A click in every category in the trailing day: every candidate's window count changes.
    const events = Array.from({ length: 5 }, (_, c) => ({
      item_id: itemToken(c + 1),
      ts: T - 100 - c,
      labels: { click: 1 },
    }));
    const ev = await call(base, 'POST', '/events', { user_id: userToken(5), events }, auth);
    assert.equal(ev.status, 200, ev.text);
    // No wait: the POST is answered once both workers hold the events (test/serve/clusterEvents.test.ts).
    const after = await answers(4);
    assert.equal(after.size, 1, 'both workers see the events');
    assert.ok(!before.has([...after][0]!), 'the events changed the ranking');
  });

  test('a reload to a corrupt export names the file and leaves both workers on the old model', async () => {
    const served = await answers(4);
    const bad = await call(base, 'POST', '/admin/reload', { dir: 'corrupt' }, auth);
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.json.message ?? '', /weights\.safetensors/);
    const h = await healthSample(6);
    assert.equal(h.pids.size, 2);
    assert.deepEqual([...h.exports], [v1.manifest.createdAt]);
    assert.deepEqual(await answers(4), served);
    const ok = await call(base, 'POST', '/admin/reload', { dir: 'v2' }, auth);
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual([...(await healthSample(6)).exports], [v2.manifest.createdAt]);
  });
});
