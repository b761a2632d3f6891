/**
 * The `kdrec export --web` page in headless Chromium, served by a static HTTP server: it loads
 * (onnxruntime-web on WASM, one thread), recommends for the chosen user, and after each click on
 * a recommended item its list changes and equals `kdrec serve`'s answer for the same events and
 * request time (ids in order, scores within 1e-5). Skips with a message without /usr/bin/chromium.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildService } from '../../src/serve/server.js';
import { writeWebPage } from '../../src/serve/webExport.js';
import { chromiumSkip, launchChromium } from '../browser.js';
import { serveStatic } from './staticServer.js';
import { stateExport } from './webFixture.js';

interface PageState {
  user: string | null;
  clicks: { itemId: string; ts: number; labels: Record<string, number> }[];
  requestTs: number;
  items: { id: string; score: number }[];
  timings: { load: number; recommend: number };
  version: number;
}

test('the web page recommends in Chromium, updates on a click, and matches kdrec serve', {
  skip: chromiumSkip,
}, async () => {
  const fx = await stateExport();
  const web = join(fx.root, 'web');
  const manifest = writeWebPage({ exportDir: fx.exportDir, out: web, users: 5 });
  const site = await serveStatic(web);
  const svc = await buildService({ exportRoot: fx.root, exportDir: 'export', index: 'exact' });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const external: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(site.url)) external.push(r.url());
    });
    const consoleErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    await page.goto(`${site.url}index.html`);
    /** Waits until the page shows a list newer than `after`, or reports the page's error. */
    const listAfter = async (after: number): Promise<PageState> => {
      await page.waitForFunction(
        (v) => {
          const g = globalThis as { kdrecWeb?: { state(): { version: number } }; kdrecWebError?: string };
          return (
            g.kdrecWebError !== undefined || (g.kdrecWeb !== undefined && g.kdrecWeb.state().version > v)
          );
        },
        after,
        { timeout: 20_000 },
      );
      const err = await page.evaluate(() => (globalThis as { kdrecWebError?: string }).kdrecWebError);
      assert.equal(err, undefined, `the page failed: ${err}`);
      return page.evaluate(() =>
        (globalThis as unknown as { kdrecWeb: { state(): PageState } }).kdrecWeb.state(),
      );
    };
    /** The server's list for the page's state: its clicks posted as events, the same request time. */
    const served = async (s: PageState, posted: number) => {
      const fresh = s.clicks.slice(posted);
      if (fresh.length > 0) {
        const res = await svc.app.inject({
          method: 'POST',
          url: '/events',
          payload: {
            user_id: s.user,
            events: fresh.map((c) => ({ item_id: c.itemId, ts: c.ts, labels: c.labels })),
          },
        });
        assert.equal(res.statusCode, 200, res.body);
      }
      const k = manifest.k;
      const res = await svc.app.inject({
        method: 'POST',
        url: '/recommend',
        payload: { user_id: s.user, ts: s.requestTs, n: k, m: k, k },
      });
      assert.equal(res.statusCode, 200, res.body);
      return (res.json() as { items: { id: string; scores: { recall: number } }[] }).items;
    };
    const same = (s: PageState, theirs: Awaited<ReturnType<typeof served>>, where: string) => {
      assert.deepEqual(
        s.items.map((i) => i.id),
        theirs.map((i) => i.id),
        where,
      );
      s.items.forEach((it, i) => {
        const d = Math.abs(it.score - theirs[i]!.scores.recall);
        assert.ok(d < 1e-5, `${where}: item ${it.id} page ${it.score}, server ${theirs[i]!.scores.recall}`);
      });
    };

    let state = await listAfter(0);
    assert.ok(state.user !== null, 'the first user offered is a known one');
    assert.equal(state.clicks.length, 0);
    same(state, await served(state, 0), 'before any click');
    const shown = await page.$$eval('#recs li', (lis) => lis.map((li) => li.getAttribute('data-item-id')));
    assert.deepEqual(
      shown,
      state.items.map((i) => i.id),
      'the DOM shows the list',
    );

    let idsChanged = 0;
    for (let click = 1; click <= 2; click++) {
      const before = state;
      await page.click('#recs li:nth-child(2) button');
      state = await listAfter(before.version);
      assert.equal(state.clicks.length, click);
      assert.equal(state.clicks.at(-1)!.itemId, before.items[1]!.id, 'the clicked item joined the history');
      assert.ok(state.requestTs > state.clicks.at(-1)!.ts, 'the list is as of a time that sees the click');
      assert.notDeepEqual(state.items, before.items, `click ${click}: the list changes`);
      if (state.items.map((i) => i.id).join() !== before.items.map((i) => i.id).join()) idsChanged++;
      same(state, await served(state, click - 1), `after click ${click}`);
      assert.equal(await page.locator('#history li').count(), click);
    }
    assert.ok(idsChanged >= 1, 'a click changed which items are recommended, not only their scores');
    assert.deepEqual(external, [], 'the page fetches nothing but its own files');
    assert.deepEqual(
      site.log.filter((r) => r.status !== 200),
      [],
      'every file the page fetched exists',
    );
    assert.deepEqual(consoleErrors, []);
    process.stdout.write(
      `# page load ${state.timings.load.toFixed(0)} ms, last list ${state.timings.recommend.toFixed(1)} ms (${manifest.itemCount} items)\n`,
    );
  } finally {
    await browser.close();
    await site.close();
    await svc.app.close();
  }
});
