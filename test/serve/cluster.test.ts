/**
 * `kdrec serve --workers 2` as a user runs it (the compiled CLI in a child process): both workers
 * answer on one port, GET /metrics sums them, a reload reaches every worker (and a refused one
 * reaches none), a killed worker is replaced, and SIGTERM stops the whole server.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tinyExport, userToken } from './fixture.js';
import { call, KDREC_CLI as cli, type ServeChild, spawnServe } from './serveChild.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('kdrec serve --workers 2', {
  skip: existsSync(cli) ? false : `${cli} not built (npm run build)`,
}, () => {
  const root = mkdtempSync(join(tmpdir(), 'kdrec-cluster-'));
  const v1 = tinyExport({ scoreFn: 'dot', seed: 3, dir: join(root, 'v1') });
  const v2 = tinyExport({ scoreFn: 'dot', seed: 4, dir: join(root, 'v2') });
  mkdirSync(join(root, 'broken'));
  writeFileSync(join(root, 'broken', 'manifest.json'), '{"format": "something else"}');
  let server: ChildProcess;
  let base = '';
  let child: ServeChild;

  /** Pids seen on /health over `n` fresh connections, and the exports they serve. */
  async function healthSample(n: number): Promise<{ pids: Set<number>; exports: Set<string> }> {
    const pids = new Set<number>();
    const exports = new Set<string>();
    for (let i = 0; i < n; i++) {
      const h = await call(base, 'GET', '/health');
      assert.equal(h.status, 200, h.text);
      pids.add(h.json.pid);
      exports.add(h.json.exportCreatedAt);
    }
    return { pids, exports };
  }

  before(async () => {
    child = await spawnServe(['--export', v1.dir, '--workers', '2', '--port', '0']);
    server = child.server;
    base = child.base;
  });

  after(() => {
    if (server.exitCode === null) server.kill('SIGKILL');
  });

  test('both workers answer on one port and GET /metrics sums them', async () => {
    const { pids, exports } = await healthSample(8);
    assert.equal(pids.size, 2, `expected two worker pids, got ${[...pids]}`);
    assert.deepEqual([...exports], [v1.manifest.createdAt]);
    for (let i = 0; i < 10; i++) {
      const r = await call(base, 'POST', '/recommend', { user_id: userToken(1 + i), k: 3 });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.items.length, 3);
    }
    const m = await call(base, 'GET', '/metrics');
    assert.match(m.text, /^kdrec_http_requests_total\{route="\/recommend",status="200"\} 10$/m);
    assert.match(m.text, /^kdrec_http_requests_total\{route="\/health",status="200"\} 8$/m);
    assert.match(m.text, /^kdrec_cascade_stage_duration_seconds_count\{stage="recall"\} 10$/m);
  });

  test('a reload reaches every worker; a refused one changes none', async () => {
    const ok = await call(base, 'POST', '/admin/reload', { dir: 'v2' });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.exportCreatedAt, v2.manifest.createdAt);
    const after = await healthSample(8);
    assert.equal(after.pids.size, 2);
    assert.deepEqual([...after.exports], [v2.manifest.createdAt]);
    const bad = await call(base, 'POST', '/admin/reload', { dir: 'broken' });
    assert.equal(bad.status, 400, bad.text);
    const outside = await call(base, 'POST', '/admin/reload', { dir: '../' });
    assert.equal(outside.status, 403, outside.text);
    assert.deepEqual([...(await healthSample(6)).exports], [v2.manifest.createdAt]);
  });

  test('a killed worker is replaced on the current export; SIGTERM stops everything', async () => {
    const { pids } = await healthSample(6);
    const victim = [...pids][0]!;
    process.kill(victim, 'SIGKILL');
    let now = new Set<number>();
    for (let i = 0; i < 100 && !(now.size === 2 && !now.has(victim)); i++) {
      await sleep(100);
      now = (await healthSample(4)).pids;
    }
    assert.equal(now.size, 2, `pids after the kill: ${[...now]}`);
    assert.ok(!now.has(victim));
    assert.deepEqual([...(await healthSample(6)).exports], [v2.manifest.createdAt]);
    assert.match(child.stderr(), /exited .*starting a new one/);
    const exited = new Promise<number | null>((r) => server.once('exit', (code) => r(code)));
    server.kill('SIGTERM');
    assert.equal(await exited, 0);
    for (const pid of now) assert.throws(() => process.kill(pid, 0), /ESRCH/);
  });
});
