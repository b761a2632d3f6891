/**
 * `kdrec export --web DIR`: a static page that runs the recall student in the browser — the user
 * tower as ONNX on onnxruntime-web (WASM backend), an exact top-K over the item vectors, and the
 * as-of-request user state computed in the page from the clicks made there (./webStudent.ts).
 * Built from an export directory (./export.ts), so the page reads the very rows, vectors and
 * encodings `kdrec serve` reads:
 *
 *   DIR/index.html                       the page (no inline script: lib/serve/webApp.js)
 *   DIR/lib/…                            compiled kdrec modules the page imports, copied as built:
 *                                        serve/webApp.js, serve/webStudent.js and the user-state
 *                                        computation data/userStateCompute.js, normalize.js,
 *                                        windowFeatures.js (one implementation for training,
 *                                        server and page)
 *   DIR/ort/ort.wasm.min.mjs             onnxruntime-web, WASM backend only (no WebGL/WebGPU code)
 *   DIR/ort/ort-wasm-simd-threaded.mjs   its WASM loader, and the binary it fetches:
 *   DIR/ort/ort-wasm-simd-threaded.wasm  ≈ 15 MB; run single-threaded (a static page has no
 *                                        cross-origin isolation, so no SharedArrayBuffer)
 *   DIR/data/web.json                    `WebManifest`: sizes, tower inputs, user-state layout
 *   DIR/data/user_tower.onnx             the user tower
 *   DIR/data/item_vectors.f32            Float32 LE [N, D]
 *   DIR/data/item_state.i32              Int32 LE: item-id table row [N], then keys [N · K]
 *   DIR/data/items.json                  { ids, titles, removed }
 *   DIR/data/users.json                  the users offered: encoded rows (+ the cold-start user)
 *
 * The page fetches its files, so it needs an HTTP server (any static one: `python3 -m http.server`,
 * `npx serve`); opened as file:// Chromium refuses the fetches and the WASM load.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { endianness, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Batch } from '../data/batch.js';
import { userStateCatalog } from '../data/userState.js';
import { kdrecVersion } from '../engine/checkpoint.js';
import { Vocab, type VocabJSON } from '../engine/vocab.js';
import { loadExport, type ServingBundle } from './bundle.js';
import { writeJson } from './export.js';
import { writeOnnxExport } from './onnx/onnxExport.js';
import type { OnnxIo } from './onnx/onnxFeeds.js';
import { OnlineUserState } from './userStateStore.js';
import {
  type UserRow,
  WEB_FORMAT,
  WEB_FORMAT_VERSION,
  type WebItems,
  type WebManifest,
  type WebUser,
  type WebUserState,
} from './webStudent.js';

/** The kdrec modules the page imports, relative to the compiled `src/` (dist/src). */
export const WEB_MODULES = [
  'serve/webApp.js',
  'serve/webStudent.js',
  'serve/onnx/onnxFeeds.js',
  'data/userStateCompute.js',
  'data/normalize.js',
  'data/windowFeatures.js',
] as const;

/** onnxruntime-web's WASM-only ESM build, the loader it imports and the binary the loader fetches. */
export const ORT_FILES = [
  'ort.wasm.min.mjs',
  'ort-wasm-simd-threaded.mjs',
  'ort-wasm-simd-threaded.wasm',
] as const;

/** The labels a click in the page records: it is a click, and nothing more is known about it. */
export const CLICK_LABELS: Readonly<Record<string, number>> = { click: 1 };

export const WEB_FILES = {
  manifest: 'data/web.json',
  model: 'data/user_tower.onnx',
  vectors: 'data/item_vectors.f32',
  itemState: 'data/item_state.i32',
  items: 'data/items.json',
  users: 'data/users.json',
} as const;

export interface WebExportOptions {
  /** An export directory (`kdrec export --out`). */
  exportDir: string;
  /** The page directory to write. */
  out: string;
  /** Known users offered in the page (the first of the export's user table; default 20). */
  users?: number;
  /** Recommendations shown (default 10). */
  k?: number;
  log?: (msg: string) => void;
}

/** A one-row batch as the page's JSON row. */
export function userRowOf(b: Batch): UserRow {
  return {
    cat: Object.fromEntries(Object.entries(b.cat).map(([f, c]) => [f, c[0]!])),
    seq: Object.fromEntries(Object.entries(b.seq).map(([f, s]) => [f, Array.from(s.ids)])),
    num: Object.fromEntries(Object.entries(b.num).map(([f, c]) => [f, c[0]!])),
  };
}

/** The directory of the compiled `src/` this module was loaded from (dist/src). */
function compiledSrcDir(): string {
  return dirname(dirname(fileURLToPath(import.meta.url)));
}

const IMPORT_RE = /^\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm;

/**
 * Copies the page's modules and checks that each imports only modules of the set: a Node or
 * library import in one of them would break the page, which this refuses at export time.
 */
function copyModules(out: string): void {
  const src = compiledSrcDir();
  const set = new Set<string>(WEB_MODULES);
  for (const m of WEB_MODULES) {
    const from = join(src, m);
    const text = readFileSync(from, 'utf8');
    for (const match of text.matchAll(IMPORT_RE)) {
      const spec = match[1] ?? match[2]!;
      const resolved = spec.startsWith('.') ? join(dirname(m), spec).replaceAll('\\', '/') : spec;
      if (!set.has(resolved))
        throw new Error(
          `${from}: imports '${spec}', which the web page does not ship (page modules: ${WEB_MODULES.join(', ')})`,
        );
    }
    const to = join(out, 'lib', m);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, to);
  }
}

function copyOrt(out: string): number {
  const dist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
  mkdirSync(join(out, 'ort'), { recursive: true });
  let bytes = 0;
  for (const f of ORT_FILES) {
    const from = join(dist, f);
    copyFileSync(from, join(out, 'ort', f));
    bytes += readFileSync(from).length;
  }
  return bytes;
}

/** Little-endian bytes of a typed array (the page's DataView-free reads assume LE, as x86/ARM are). */
function leBytes(a: Float32Array | Int32Array): Uint8Array {
  if (endianness() !== 'LE')
    throw new Error('kdrec export --web: writing on a big-endian host is not supported');
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * Readable item titles: the export carries no title column, so an item is named by its id and the
 * values of its user-state key field (category, genres) when the export has that vocabulary.
 */
function itemTitles(bundle: ServingBundle, keyField: string | null): string[] {
  const m = bundle.manifest;
  const N = m.itemCount;
  let describe: ((r: number) => string) | null = null;
  const cat = keyField !== null ? bundle.items.cat[keyField] : undefined;
  const seq = keyField !== null ? bundle.items.seq[keyField] : undefined;
  const table = keyField !== null && bundle.schema.has(keyField) ? bundle.schema.field(keyField).table : null;
  const file = table !== null ? m.files.vocabs[table] : undefined;
  if (keyField !== null && file !== undefined && (cat !== undefined || seq !== undefined)) {
    const vocab = Vocab.fromJSON(JSON.parse(readFileSync(join(bundle.dir, file), 'utf8')) as VocabJSON);
    const tok = (id: number) => (id > 0 ? (vocab.tokenOf(id) ?? '?') : null);
    describe = (r) => {
      const ids =
        cat !== undefined ? [cat[r]!] : Array.from(seq!.ids.subarray(r * seq!.maxLen, (r + 1) * seq!.maxLen));
      const names = ids.map(tok).filter((t): t is string => t !== null);
      return names.length > 0 ? `${keyField} ${names.join(', ')}` : `no ${keyField}`;
    };
  }
  return Array.from({ length: N }, (_, r) => {
    const id = bundle.itemIds[r]!;
    return describe !== null ? `item ${id} · ${describe(r)}` : `item ${id}`;
  });
}

/** Writes the page for an export directory; returns its manifest. */
export function writeWebPage(opts: WebExportOptions): WebManifest {
  const bundle = loadExport(opts.exportDir);
  const m = bundle.manifest;
  const N = m.itemCount;
  const out = opts.out;
  mkdirSync(join(out, 'data'), { recursive: true });

  // User state: present exactly when the server computes it (`OnlineUserState.forExport`).
  const online = OnlineUserState.forExport(bundle);
  let userState: WebUserState | null = null;
  let itemState = new Int32Array(0);
  if (online !== null) {
    const layout = online.layout;
    const catalog = userStateCatalog(layout, bundle.items, `export ${bundle.dir}`);
    const K = catalog.keysPerItem;
    itemState = new Int32Array(N * (1 + K));
    if (layout.items !== null) itemState.set(catalog.itemTableRow);
    if (catalog.keys !== null) itemState.set(catalog.keys, N);
    const normalization: WebUserState['normalization'] = {};
    for (const f of [...layout.counts, ...layout.rates])
      normalization[f.field] = {
        normalize: bundle.schema.field(f.field).normalize,
        stats: bundle.schema.numericStats(f.field),
      };
    userState = {
      layout: {
        items: layout.items,
        keys: layout.keys,
        counts: layout.counts.map((c) => ({ field: c.field, window: c.window })),
        rates: layout.rates.map((r) => ({ field: r.field, label: r.label, window: r.window })),
      },
      keysPerItem: K,
      normalization,
    };
  }

  // The user tower through the ONNX converter (src/serve/onnx), into a scratch directory: the page
  // keeps only the user tower, not the converter's other files (item vectors again, user inputs).
  const scratch = mkdtempSync(join(tmpdir(), 'kdrec-web-onnx-'));
  let tower: OnnxIo;
  let bytes: Uint8Array;
  try {
    const onnx = writeOnnxExport(opts.exportDir, { out: scratch });
    const io = onnx.models.user_tower;
    if (io === undefined) throw new Error(`${opts.exportDir}: the ONNX export has no user tower`);
    bytes = readFileSync(join(scratch, io.file));
    tower = { inputs: io.inputs, outputs: io.outputs };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  writeFileSync(join(out, WEB_FILES.model), bytes);
  writeFileSync(join(out, WEB_FILES.vectors), leBytes(bundle.itemVectors));
  writeFileSync(join(out, WEB_FILES.itemState), leBytes(itemState));
  const removed: number[] = [];
  if (bundle.itemLive !== null) for (let r = 0; r < N; r++) if (!bundle.itemLive[r]) removed.push(r);
  const items: WebItems = {
    ids: bundle.itemIds,
    titles: itemTitles(bundle, userState?.layout.keys?.keyField ?? null),
    removed,
  };
  writeJson(join(out, WEB_FILES.items), items);

  const known = bundle.knownUserIds().slice(0, opts.users ?? 20);
  const users: WebUser[] = [
    ...known.map((id) => ({
      id,
      label: `user ${id}`,
      row: userRowOf(bundle.encodeUser({ userId: id }).batch),
    })),
    { id: null, label: 'a new user (cold start)', row: userRowOf(bundle.encodeUser({}).batch) },
  ];
  writeJson(join(out, WEB_FILES.users), users);

  copyModules(out);
  const ortBytes = copyOrt(out);
  writeFileSync(join(out, 'index.html'), PAGE_HTML);
  const manifest: WebManifest = {
    format: WEB_FORMAT,
    formatVersion: WEB_FORMAT_VERSION,
    kdrecVersion: kdrecVersion(),
    createdAt: new Date().toISOString(),
    exportCreatedAt: m.createdAt,
    scoreFn: m.scoreFn,
    dim: m.dim,
    itemCount: N,
    k: opts.k ?? 10,
    tower,
    clickLabels: { ...CLICK_LABELS },
    userState,
    files: {
      model: WEB_FILES.model.slice('data/'.length),
      vectors: WEB_FILES.vectors.slice('data/'.length),
      itemState: WEB_FILES.itemState.slice('data/'.length),
      items: WEB_FILES.items.slice('data/'.length),
      users: WEB_FILES.users.slice('data/'.length),
    },
  };
  // web.json last: a page directory with it is complete.
  writeJson(join(out, WEB_FILES.manifest), manifest);
  opts.log?.(
    `wrote the web page for ${N} items × dim ${m.dim} and ${users.length} users to ${out} ` +
      `(model ${bytes.length} B, vectors ${bundle.itemVectors.byteLength} B, onnxruntime-web ${ortBytes} B)` +
      (bundle.prerank !== null || bundle.rank !== null
        ? "; the page runs the recall stage only (the export's pre-ranker/ranker are not in it)"
        : ''),
  );
  return manifest;
}

const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>kdrec — in-browser student</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.4rem; margin-bottom: .2rem; }
  .lead { color: #555; margin-top: 0; }
  #status { color: #555; font-size: .9rem; }
  #status.error { color: #b00020; white-space: pre-wrap; }
  .cols { display: grid; grid-template-columns: 2fr 1fr; gap: 2rem; }
  ol#recs { padding-left: 1.6rem; }
  ol#recs li { margin: .25rem 0; }
  ol#recs button { font: inherit; text-align: left; border: 1px solid #ccd; background: #f7f8fc; border-radius: 4px;
    padding: .25rem .5rem; cursor: pointer; width: 100%; display: flex; justify-content: space-between; gap: 1rem; }
  ol#recs button:hover { background: #e8ecfa; }
  .score { color: #666; font-variant-numeric: tabular-nums; }
  ol#history { padding-left: 1.6rem; color: #444; }
</style>
</head>
<body>
<h1>kdrec — the recall student in your browser</h1>
<p class="lead">The user tower runs here (onnxruntime-web, WASM); the user state is computed here from your clicks.
Click a recommended item: it joins your history, and the list is recomputed as of the next second.</p>
<p><label>User <select id="user"></select></label> <button id="reset" type="button">clear clicks</button></p>
<p id="status">loading… (if this stays, the page was opened as a file: it must be served over HTTP, e.g. <code>python3 -m http.server -d DIR</code>)</p>
<div class="cols">
  <section><h2>Recommended</h2><ol id="recs"></ol></section>
  <section><h2>Your clicks</h2><ol id="history"></ol></section>
</div>
<script type="module" src="lib/serve/webApp.js"></script>
</body>
</html>
`;
