/**
 * `kdrec export --web` at catalogue sizes (issue 17, item 5): what the page weighs and how fast it
 * is in headless Chromium, against `kdrec serve` on the same export in the same run.
 *
 * Per catalogue size: a simulated world and a random two-tower student of width --dim with user
 * state (test/serve/webFixture.ts), exported, then the page written (`writeWebPage`, timed). The
 * page is served by a local static server and opened --rounds times, each in a fresh browser
 * context (empty cache): time from navigation to the first list, and the page's own load time
 * (fetches + onnxruntime-web start + model). Then --clicks clicks, each timed by the page (user
 * state + ONNX user tower + exact top-10 over all items). --mbit emulates a slower network
 * (Chromium's network conditions) for the load. Reference: POST /recommend of
 * `kdrec serve` (exact index, in-process inject) for the same user, --clicks times. Medians.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/webPage.js [--items 10000,100000] [--dim 64] [--rounds 5] [--clicks 15] [--mbit 0]
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildService } from '../src/serve/server.js';
import { writeWebPage } from '../src/serve/webExport.js';
import { launchChromium } from '../test/browser.js';
import { serveStatic } from '../test/serve/staticServer.js';
import { stateExport } from '../test/serve/webFixture.js';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '10000,100000' },
    dim: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '5' },
    clicks: { type: 'string', default: '15' },
    /** Emulate a network of this many Mbit/s down (and 40 ms latency) through Chromium's CDP; 0: none. */
    mbit: { type: 'string', default: '0' },
  },
});
const sizes = values.items.split(',').map(Number);
const dim = Number(values.dim);
const rounds = Number(values.rounds);
const clicks = Number(values.clicks);
const mbit = Number(values.mbit);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const du = (p: string): number =>
  statSync(p).isDirectory() ? readdirSync(p).reduce((a, f) => a + du(join(p, f)), 0) : statSync(p).size;
const mb = (b: number) => `${(b / 1e6).toFixed(2)} MB`;

interface State {
  version: number;
  user: string | null;
  timings: { load: number; recommend: number };
}
const stateOf = () => (globalThis as unknown as { kdrecWeb: { state(): State } }).kdrecWeb.state();
const versionAbove = (v: number) => {
  const g = globalThis as { kdrecWeb?: { state(): { version: number } }; kdrecWebError?: string };
  if (g.kdrecWebError !== undefined) throw new Error(g.kdrecWebError);
  return g.kdrecWeb !== undefined && g.kdrecWeb.state().version > v;
};

const browser = await launchChromium();
try {
  for (const N of sizes) {
    const fx = await stateExport({ items: N, users: 200, dim });
    const web = join(fx.root, 'web');
    const t0 = performance.now();
    const m = writeWebPage({ exportDir: fx.exportDir, out: web, users: 20 });
    const exportMs = performance.now() - t0;
    const site = await serveStatic(web);
    const firstList: number[] = [];
    const pageLoad: number[] = [];
    let recommend: number[] = [];
    let user: string | null = null;
    for (let r = 0; r < rounds; r++) {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      if (mbit > 0) {
        const cdp = await ctx.newCDPSession(page);
        await cdp.send('Network.enable');
        await cdp.send('Network.emulateNetworkConditions', {
          offline: false,
          latency: 40,
          downloadThroughput: (mbit * 1e6) / 8,
          uploadThroughput: (mbit * 1e6) / 8,
        });
      }
      const t1 = performance.now();
      await page.goto(`${site.url}index.html`);
      await page.waitForFunction(versionAbove, 0, { timeout: 120_000 });
      firstList.push(performance.now() - t1);
      const s = await page.evaluate(stateOf);
      pageLoad.push(s.timings.load);
      user = s.user;
      if (r === rounds - 1) {
        recommend = [];
        let v = s.version;
        for (let c = 0; c < clicks; c++) {
          await page.click('#recs li:nth-child(2) button');
          await page.waitForFunction(versionAbove, v, { timeout: 60_000 });
          const sc = await page.evaluate(stateOf);
          v = sc.version;
          recommend.push(sc.timings.recommend);
        }
      }
      await ctx.close();
    }
    await site.close();
    const svc = await buildService({ exportRoot: fx.root, exportDir: 'export', index: 'exact' });
    const served: number[] = [];
    for (let c = 0; c < clicks; c++) {
      const t2 = performance.now();
      const res = await svc.app.inject({
        method: 'POST',
        url: '/recommend',
        payload: { user_id: user!, ts: 1_800_000_000 + c, n: 10, m: 10, k: 10 },
      });
      served.push(performance.now() - t2);
      if (res.statusCode !== 200) throw new Error(res.body);
    }
    await svc.app.close();
    const data = join(web, 'data');
    console.log(
      JSON.stringify({
        items: N,
        dim: m.dim,
        mbit,
        exportMs: Math.round(exportMs),
        dataBytes: du(data),
        vectorsBytes: du(join(data, m.files.vectors)),
        itemsJsonBytes: du(join(data, m.files.items)),
        modelBytes: du(join(data, m.files.model)),
        ortBytes: du(join(web, 'ort')),
        firstListMs: Math.round(median(firstList)),
        pageLoadMs: Math.round(median(pageLoad)),
        pageRecommendMs: +median(recommend).toFixed(2),
        serverRecommendMs: +median(served).toFixed(2),
      }),
    );
    console.log(
      `# ${N} items × ${m.dim}: data ${mb(du(data))} + onnxruntime-web ${mb(du(join(web, 'ort')))}; ` +
        `first list ${median(firstList).toFixed(0)} ms; a click ${median(recommend).toFixed(1)} ms (server ${median(served).toFixed(1)} ms)`,
    );
  }
} finally {
  await browser.close();
}
process.exit(0);
