/**
 * POST /events under `kdrec serve --workers 2` (issue 18, item 5a): whichever worker takes the
 * events and whichever answers the next /recommend, the answer is the one a single-process server
 * given the same events gives, with no wait between the two requests (the POST is answered once
 * every worker has applied the events). A worker started to replace a killed one copies the event
 * store before it serves. Every request goes on a fresh connection, and the `x-kdrec-worker` header
 * says which worker answered, so the test checks that both directions (events on worker A, answer
 * from worker B, and the other way) were exercised rather than assuming it.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { itemToken, tinyExport, userToken } from './fixture.js';
import { call, KDREC_CLI as cli, spawnServe } from './serveChild.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const T = 1_700_000_000;

describe('kdrec serve --workers 2: POST /events reaches every worker', {
  skip: existsSync(cli) ? false : `${cli} not built (npm run build)`,
}, () => {
  const root = mkdtempSync(join(tmpdir(), 'kdrec-cluster-events-'));
  const exp = tinyExport({ scoreFn: 'dot', seed: 11, dir: join(root, 'v1'), ranker: {} });
  const env = { ...process.env };
  delete env['KDREC_ADMIN_TOKEN'];
  let cluster: ChildProcess;
  let single: ChildProcess;
  let clusterBase = '';
  let singleBase = '';

  const rec = (u: number) => ({
    user_id: userToken(u),
    features: { hour: '003' },
    ts: T,
    n: 60,
    m: 30,
    k: 30,
  });
  /** The same call on both servers; the cluster's answering worker is returned with the answers. */
  async function both(path: string, body: unknown): Promise<{ worker: string; got: string; want: string }> {
    const [c, s] = await Promise.all([
      call(clusterBase, 'POST', path, body),
      call(singleBase, 'POST', path, body),
    ]);
    assert.equal(c.status, 200, c.text);
    assert.equal(s.status, 200, s.text);
    return {
      worker: String(c.headers['x-kdrec-worker']),
      got: JSON.stringify(c.json.items),
      want: JSON.stringify(s.json.items),
    };
  }
  /** Clicks of user `u` in every category within the trailing day (changes every window count). */
  const clicks = (u: number, step: number) => ({
    user_id: userToken(u),
    events: Array.from({ length: 1 + (step % 3) }, (_, c) => ({
      item_id: itemToken(((u + step + c) % 5) + 1),
      ts: T - 100 - 10 * step - c,
      labels: { click: 1 },
    })),
  });

  before(async () => {
    const c = await spawnServe(['--export', exp.dir, '--workers', '2', '--port', '0'], env);
    const s = await spawnServe(['--export', exp.dir, '--port', '0'], env);
    cluster = c.server;
    single = s.server;
    clusterBase = c.base;
    singleBase = s.base;
  });
  after(() => {
    for (const p of [cluster, single]) if (p.exitCode === null) p.kill('SIGTERM');
  });

  test('the answer right after POST /events matches a single-process server, from either worker', async () => {
    const directions = new Set<string>();
    let changed = 0;
    for (let step = 0; step < 12; step++) {
      const u = step % 4;
      const before = await both('/recommend', rec(u));
      assert.equal(before.got, before.want, `step ${step}: before the events`);
      const ev = await call(clusterBase, 'POST', '/events', clicks(u, step));
      assert.equal(ev.status, 200, ev.text);
      const evS = await call(singleBase, 'POST', '/events', clicks(u, step));
      assert.equal(evS.status, 200, evS.text);
      // No wait: the POST's answer promises every worker has the events.
      const afterEv = await both('/recommend', rec(u));
      assert.equal(
        afterEv.got,
        afterEv.want,
        `step ${step}: events on worker ${ev.headers['x-kdrec-worker']}, answer from ${afterEv.worker}`,
      );
      if (afterEv.got !== before.got) changed++;
      directions.add(`${ev.headers['x-kdrec-worker']}->${afterEv.worker}`);
      // Shift the round-robin phase now and then, so both workers take events and both answer.
      if (step % 3 === 2) await call(clusterBase, 'GET', '/health');
    }
    assert.ok(changed >= 6, `the events changed the ranking (${changed} of 12 steps)`);
    const cross = [...directions].filter((d) => d.split('->')[0] !== d.split('->')[1]);
    assert.equal(
      new Set(cross).size,
      2,
      `both cross-worker directions exercised: ${[...directions].join(', ')}`,
    );
  });

  test('concurrent POSTs for one user over many connections all land on every worker', async () => {
    const u = 7;
    const posts = Array.from({ length: 16 }, (_, i) => ({
      user_id: userToken(u),
      events: [{ item_id: itemToken((i % 5) + 1), ts: T - 1000 - i, labels: { click: i % 2 } }],
    }));
    const replies = await Promise.all(posts.map((p) => call(clusterBase, 'POST', '/events', p)));
    for (const r of replies) assert.equal(r.status, 200, r.text);
    assert.equal(new Set(replies.map((r) => r.headers['x-kdrec-worker'])).size, 2, 'both workers took some');
    for (const p of posts) assert.equal((await call(singleBase, 'POST', '/events', p)).status, 200);
    for (let i = 0; i < 4; i++) {
      const r = await both('/recommend', rec(u));
      assert.equal(r.got, r.want, `answer ${i} from worker ${r.worker}`);
    }
  });

  test('POST /events is answered only once every worker has applied the events', async () => {
    // With one worker stopped (SIGSTOP), an event POST that reaches the other worker must wait for
    // it: two POSTs on fresh connections reach both workers, and neither may answer until SIGCONT.
    const h = await call(clusterBase, 'GET', '/health');
    const stopped = Number(h.headers['x-kdrec-worker']);
    process.kill(stopped, 'SIGSTOP');
    let answered = 0;
    const posts = [8, 9].map((u) =>
      call(clusterBase, 'POST', '/events', clicks(u, 1)).then((r) => {
        answered++;
        return r;
      }),
    );
    await sleep(400);
    const early = answered;
    process.kill(stopped, 'SIGCONT');
    const replies = await Promise.all(posts);
    assert.equal(early, 0, 'no POST answered while a worker could not apply the events');
    for (const r of replies) assert.equal(r.status, 200, r.text);
    for (const u of [8, 9])
      assert.equal((await call(singleBase, 'POST', '/events', clicks(u, 1))).status, 200);
    for (const u of [8, 9, 8, 9]) {
      const r = await both('/recommend', rec(u));
      assert.equal(r.got, r.want, `user ${u} from worker ${r.worker}`);
    }
  });

  test('a worker that replaces a killed one serves with every event stored before', async () => {
    const h = await call(clusterBase, 'GET', '/health');
    const victim = Number(h.headers['x-kdrec-worker']);
    assert.ok(
      Number.isInteger(victim) && victim > 0,
      `x-kdrec-worker is a pid: ${h.headers['x-kdrec-worker']}`,
    );
    process.kill(victim, 'SIGKILL');
    // Wait for the replacement to listen: /health from two pids, neither the victim.
    let pids = new Set<string>();
    for (let i = 0; i < 200 && !(pids.size === 2 && !pids.has(String(victim))); i++) {
      await sleep(50);
      pids = new Set<string>();
      for (let j = 0; j < 4; j++) {
        const r = await call(clusterBase, 'GET', '/health').catch(() => null);
        if (r?.status === 200) pids.add(String(r.headers['x-kdrec-worker']));
      }
    }
    assert.equal(pids.size, 2, `a replacement worker serves: ${[...pids].join(', ')}`);
    assert.ok(!pids.has(String(victim)));
    const answered = new Set<string>();
    for (const u of [0, 1, 2, 3, 7, 0, 1, 2, 3, 7]) {
      const r = await both('/recommend', rec(u));
      assert.equal(r.got, r.want, `user ${u} from worker ${r.worker}`);
      answered.add(r.worker);
    }
    assert.equal(answered.size, 2, 'the replacement answered too');
  });
});
