/**
 * What the issue-18 guards cost per request: the same service with and without the per-client
 * rate limit (src/serve/auth.ts defaults) and the admin token, driven in-process by fastify's
 * `inject` (no sockets, so the difference is the hooks, not the network). Rounds alternate
 * between the two services so that a loaded machine slows both alike; the figure is the median
 * over rounds of each service's mean time per request.
 *
 *   npm run build && node dist/bench/serveGuards.js [--rounds 9] [--requests 2000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildService, type Service } from '../src/serve/server.js';
import { tinyExport, userToken } from '../test/serve/fixture.js';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '9' }, requests: { type: 'string', default: '2000' } },
});
const rounds = Number(values.rounds);
const requests = Number(values.requests);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function timePerRequest(svc: Service, route: 'health' | 'recommend'): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < requests; i++) {
    const r =
      route === 'health'
        ? await svc.app.inject({ method: 'GET', url: '/health' })
        : await svc.app.inject({
            method: 'POST',
            url: '/recommend',
            payload: { user_id: userToken(1 + (i % 50)) },
          });
    if (r.statusCode !== 200) throw new Error(`${route}: ${r.statusCode} ${r.body}`);
  }
  return ((performance.now() - t) / requests) * 1000;
}

const root = mkdtempSync(join(tmpdir(), 'kdrec-guards-'));
try {
  tinyExport({ scoreFn: 'dot', seed: 3, dir: join(root, 'v1') });
  const base = { exportRoot: root, exportDir: 'v1', n: 40, m: 20, k: 5 };
  // The read limit is raised so the bench's own requests are never refused: the hook still runs.
  const guarded = await buildService({
    ...base,
    adminToken: 'bench-token',
    rateLimit: { max: 1e9, windowMs: 1000 },
  });
  const open = await buildService({ ...base, rateLimit: null, adminRateLimit: null });
  for (const route of ['health', 'recommend'] as const) {
    await timePerRequest(guarded, route); // warm-up (JIT)
    await timePerRequest(open, route);
    const g: number[] = [];
    const o: number[] = [];
    for (let r = 0; r < rounds; r++) {
      g.push(await timePerRequest(guarded, route));
      o.push(await timePerRequest(open, route));
    }
    const diffs = g.map((x, i) => x - o[i]!);
    console.log(
      JSON.stringify({
        route,
        requests,
        rounds,
        guardedUs: Number(median(g).toFixed(1)),
        openUs: Number(median(o).toFixed(1)),
        medianDiffUs: Number(median(diffs).toFixed(1)),
        diffsUs: diffs.map((d) => Number(d.toFixed(1))),
      }),
    );
  }
  await guarded.app.close();
  await open.app.close();
} finally {
  rmSync(root, { recursive: true, force: true });
}
