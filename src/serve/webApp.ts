/**
 * The page script of `kdrec export --web` (./webExport.ts): loads the page's data, starts
 * onnxruntime-web on its WASM backend, and wires the DOM to ./webStudent.ts. Runs only in a
 * browser; its one kdrec import is ./webStudent.js (checked by the exporter).
 *
 * `globalThis.kdrecWeb` exposes the page's state (user, clicks with their times, request time,
 * the list shown) so a test — or a curious reader in the console — can replay the same events
 * against `kdrec serve` and compare.
 */
import {
  ortTowerRunner,
  type Recommendation,
  requestTimeAfter,
  WEB_FORMAT,
  WEB_FORMAT_VERSION,
  type WebClick,
  type WebItems,
  type WebManifest,
  WebStudent,
  type WebUser,
} from './webStudent.js';

interface PageState {
  user: string | null;
  clicks: { itemId: string; ts: number; labels: Record<string, number> }[];
  requestTs: number;
  items: { id: string; score: number }[];
  /** Milliseconds: data + runtime + model load, and the last recommendation. */
  timings: { load: number; recommend: number };
  /** Increments on every list shown (a test waits for it to change). */
  version: number;
}

const base = new URL('../../', import.meta.url);
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

async function fetchOk(path: string): Promise<Response> {
  const res = await fetch(new URL(path, base));
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${res.statusText}`);
  return res;
}
const json = async <T>(path: string) => (await (await fetchOk(path)).json()) as T;
const bytes = async (path: string) => (await fetchOk(path)).arrayBuffer();

async function main(): Promise<void> {
  const t0 = performance.now();
  const manifest = await json<WebManifest>('data/web.json');
  if (manifest.format !== WEB_FORMAT || manifest.formatVersion !== WEB_FORMAT_VERSION)
    throw new Error(
      `data/web.json: format ${manifest.format} v${manifest.formatVersion}, this page reads ${WEB_FORMAT} v${WEB_FORMAT_VERSION}`,
    );
  const f = manifest.files;
  const ortUrl = new URL('ort/ort.wasm.min.mjs', base).href;
  const [ort, items, users, vectors, itemState, model] = await Promise.all([
    import(ortUrl),
    json<WebItems>(`data/${f.items}`),
    json<WebUser[]>(`data/${f.users}`),
    bytes(`data/${f.vectors}`),
    bytes(`data/${f.itemState}`),
    bytes(`data/${f.model}`),
  ]);
  // A static page is not cross-origin isolated: no SharedArrayBuffer, so one WASM thread.
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = new URL('ort/', base).href;
  const session = await ort.InferenceSession.create(new Uint8Array(model), { executionProviders: ['wasm'] });
  const student = new WebStudent(
    manifest,
    new Float32Array(vectors),
    new Int32Array(itemState),
    items,
    ortTowerRunner(ort, session, manifest.tower),
  );
  const load = performance.now() - t0;

  const select = $<HTMLSelectElement>('user');
  users.forEach((u, i) => {
    const o = document.createElement('option');
    o.value = String(i);
    o.textContent = u.label;
    select.append(o);
  });
  let clicks: WebClick[] = [];
  const state: PageState = {
    user: users[0]?.id ?? null,
    clicks: [],
    requestTs: 0,
    items: [],
    timings: { load, recommend: 0 },
    version: 0,
  };
  // One recommendation at a time, in click order.
  let queue: Promise<void> = Promise.resolve();
  const refresh = () => {
    queue = queue.then(async () => {
      const user = users[Number(select.value)]!;
      const t = requestTimeAfter(clicks, Date.now() / 1000);
      const t1 = performance.now();
      const recs = await student.recommend(user, clicks, t);
      show(recs);
      state.user = user.id;
      state.clicks = clicks.map((c) => ({
        itemId: items.ids[c.itemRow]!,
        ts: c.ts,
        labels: { ...manifest.clickLabels },
      }));
      state.requestTs = t;
      state.items = recs.map((r) => ({ id: r.id, score: r.score }));
      state.timings.recommend = performance.now() - t1;
      state.version++;
      $('status').textContent =
        `${manifest.itemCount} items · loaded in ${load.toFixed(0)} ms · last list in ${state.timings.recommend.toFixed(1)} ms ` +
        `· as of ${new Date(t * 1000).toISOString()}`;
    });
    queue.catch(fail);
  };
  const show = (recs: Recommendation[]) => {
    const ol = $('recs');
    ol.replaceChildren(
      ...recs.map((r) => {
        const li = document.createElement('li');
        li.dataset['itemId'] = r.id;
        li.dataset['score'] = String(r.score);
        const b = document.createElement('button');
        b.type = 'button';
        const title = document.createElement('span');
        title.textContent = r.title;
        const score = document.createElement('span');
        score.className = 'score';
        score.textContent = r.score.toFixed(4);
        b.append(title, score);
        b.addEventListener('click', () => {
          clicks = [...clicks, { itemRow: r.row, ts: Math.floor(Date.now() / 1000) }];
          const h = document.createElement('li');
          h.textContent = r.title;
          $('history').append(h);
          refresh();
        });
        li.append(b);
        return li;
      }),
    );
  };
  const reset = () => {
    clicks = [];
    $('history').replaceChildren();
    refresh();
  };
  select.addEventListener('change', reset);
  $('reset').addEventListener('click', reset);
  (globalThis as { kdrecWeb?: { state(): PageState } }).kdrecWeb = { state: () => structuredClone(state) };
  refresh();
}

function fail(err: unknown): void {
  const s = $('status');
  s.className = 'error';
  s.textContent = `error: ${(err as Error).message ?? String(err)}`;
  (globalThis as { kdrecWebError?: string }).kdrecWebError = s.textContent;
}

main().catch(fail);
