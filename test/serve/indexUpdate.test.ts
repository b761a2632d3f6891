/**
 * Incremental catalogue updates (`kdrec index add/remove`, src/serve/annIndex.ts `updateCatalogue`):
 * an item added to an export that lacked it scores exactly as in the full export (recall vector,
 * index score, pre-ranker score), a removed item leaves search and the cascade, the update round-trips
 * through save/load (sync and async, HNSW and exact), files are committed by revision, and bad input
 * is refused with the file, line and column or the id at fault.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Columns } from '../../src/data/batch.js';
import { writeSafetensors } from '../../src/engine/safetensors.js';
import { Vocab, type VocabJSON } from '../../src/engine/vocab.js';
import { HnswIndex, updateCatalogue } from '../../src/serve/annIndex.js';
import { loadExport, readManifest, type ServingBundle } from '../../src/serve/bundle.js';
import { runCascade } from '../../src/serve/cascade.js';
import { columnsToTensors, writeJson } from '../../src/serve/export.js';
import { buildService } from '../../src/serve/server.js';
import { loadServingState, loadServingStateAsync } from '../../src/serve/servingState.js';
import { tinyExport, userToken } from './fixture.js';
import { runIndexCli } from './indexCli.js';

/** A copy of export `src` whose catalogue is its first `keep` rows (as if exported without the rest). */
function truncatedExport(src: string, keep: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'kdrec-idx-'));
  cpSync(src, dir, { recursive: true });
  const b = loadExport(dir);
  const m = b.manifest;
  const items: Columns = { size: keep, cat: {}, seq: {}, num: {}, labels: {}, extra: {} };
  for (const [k, v] of Object.entries(b.items.cat)) items.cat[k] = v.slice(0, keep);
  for (const [k, v] of Object.entries(b.items.num)) items.num[k] = v.slice(0, keep);
  for (const [k, v] of Object.entries(b.items.seq))
    items.seq[k] = { ids: v.ids.slice(0, keep * v.maxLen), maxLen: v.maxLen };
  const fields = new Set([...Object.keys(items.cat), ...Object.keys(items.seq), ...Object.keys(items.num)]);
  writeSafetensors(join(dir, m.files.itemFeatures), columnsToTensors(items, fields));
  writeSafetensors(join(dir, m.files.itemVectors), {
    vectors: { dtype: 'F32', shape: [keep, m.dim], data: b.itemVectors.slice(0, keep * m.dim) },
  });
  writeJson(join(dir, m.files.itemIds), b.itemIds.slice(0, keep));
  writeJson(join(dir, 'manifest.json'), { ...m, itemCount: keep });
  return dir;
}

/** The raw CSV a catalogue file would hold for `rows` of a loaded export (tokens from its vocabularies). */
function rawCsv(b: ServingBundle, rows: number[]): string {
  const vocab = (table: string) =>
    Vocab.fromJSON(
      JSON.parse(readFileSync(join(b.dir, b.manifest.files.vocabs[table]!), 'utf8')) as VocabJSON,
    );
  const tok = (table: string, k: number) => (k <= 0 ? '' : vocab(table).tokens[k - 1]!);
  const header = ['item_id', 'category', 'tags', 'price'];
  const lines = rows.map((r) => {
    const tags = b.items.seq['tags']!;
    const tagTokens = Array.from(tags.ids.subarray(r * tags.maxLen, (r + 1) * tags.maxLen))
      .filter((k) => k >= 0)
      .map((k) => tok('tags', k));
    return [
      b.itemIds[r],
      tok('category', b.items.cat['category']![r]!),
      tagTokens.join('|'),
      String(b.items.num['price']![r]),
    ].join(',');
  });
  return `${header.join(',')}\n${lines.join('\n')}\n`;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('kdrec index add', () => {
  for (const [scoreFn, mode] of [
    ['cosine', 'log'],
    ['dot', 'log'],
    ['dot', 'compacted'],
  ] as const) {
    test(`${scoreFn}, ${mode}: an added item gets the full export's vector, index score and pre-rank score`, async () => {
      const full = tinyExport({ scoreFn, seed: 5 });
      const A = loadExport(full.dir);
      const N = full.items.size;
      const keep = N - 6;
      const dir = truncatedExport(full.dir, keep);
      const partial = loadExport(dir);
      // Dot models: Φ is fixed at build time; give it room for the held-out items (a real catalogue
      // gets 5% head-room; the refusal above Φ is tested below).
      let maxNorm = 0;
      for (let r = 0; r < N; r++) {
        const v = A.itemVectors.subarray(r * A.manifest.dim, (r + 1) * A.manifest.dim);
        maxNorm = Math.max(maxNorm, Math.hypot(...v));
      }
      new HnswIndex(partial.manifest.dim, partial.itemVectors, scoreFn, {
        phi: scoreFn === 'dot' ? maxNorm * 1.05 : 0,
      }).save(dir, partial.manifest);
      const csv = join(dir, 'new_items.csv');
      writeFileSync(csv, rawCsv(A, [keep, keep + 1, keep + 2, keep + 3, keep + 4, keep + 5]));
      const vectorsFile = readFileSync(join(dir, partial.manifest.files.itemVectors));
      // The log alone (no automatic compaction), or the log folded in by `index compact`.
      const out = await runIndexCli([
        'index',
        'add',
        '--export',
        dir,
        '--items',
        csv,
        '--compact-fraction',
        '1',
      ]);
      assert.match(
        out,
        /revision 0 \+ 1 logged update\(s\): 6 added, 0 replaced, 0 removed; 60 items served \(60 rows\); HNSW index \+ exact search over the log/,
      );
      // Appended, not rewritten: the revision's item table and graph are the same files, unchanged.
      assert.deepEqual(readManifest(dir), partial.manifest);
      assert.ok(vectorsFile.equals(readFileSync(join(dir, partial.manifest.files.itemVectors))));
      assert.ok(existsSync(join(dir, 'catalogue.r0.log')));
      if (mode === 'compacted')
        assert.match(await runIndexCli(['index', 'compact', '--export', dir]), /revision 1: 60 rows/);

      const s = loadServingState(dir, 'hnsw');
      const B = s.bundle;
      assert.equal(B.manifest.revision ?? 0, mode === 'log' ? 0 : 1);
      assert.equal(B.catalogueDelta === null, mode === 'compacted');
      assert.equal(B.manifest.itemCount, N);
      assert.deepEqual(B.itemIds, A.itemIds);
      // Same item columns (the encoder matches the dataset builder's) and the same vectors (the
      // exporter's own function over the exported item tower).
      for (const k of Object.keys(A.items.cat)) assert.deepEqual(B.items.cat[k], A.items.cat[k], k);
      for (const k of Object.keys(A.items.seq)) assert.deepEqual(B.items.seq[k]!.ids, A.items.seq[k]!.ids, k);
      for (const k of Object.keys(A.items.num)) assert.deepEqual(B.items.num[k], A.items.num[k], k);
      assert.ok(
        maxAbsDiff(B.itemVectors, A.itemVectors) <= 1e-6,
        `${maxAbsDiff(B.itemVectors, A.itemVectors)}`,
      );

      const user = A.encodeUser({ userId: userToken(3) });
      const u = A.userVector(user);
      const got = s.index.search(u, N);
      const D = A.manifest.dim;
      for (let r = keep; r < N; r++) {
        const at = [...got.keys].indexOf(r);
        assert.ok(at >= 0, `added row ${r} is found`);
        let want = 0;
        for (let d = 0; d < D; d++) want += u[d]! * A.itemVectors[r * D + d]!;
        // The index scores in float32 (usearch's SIMD dot), `want` is a double sum: a few ulps apart.
        assert.ok(
          Math.abs(got.scores[at]! - want) <= 1e-6 * (1 + Math.abs(want)),
          `row ${r}: ${got.scores[at]} vs ${want}`,
        );
      }
      const rows = Int32Array.from({ length: 6 }, (_, i) => keep + i);
      assert.ok(maxAbsDiff(B.prerankScores(user, rows), A.prerankScores(user, rows)) <= 1e-6);
    });
  }

  test('an id already in the catalogue is replaced in its row; a vector above Φ is refused before any write', async () => {
    const ex = tinyExport({ scoreFn: 'dot', seed: 6 });
    const A = loadExport(ex.dir);
    // The MIPS graph (the tuner may choose the plain inner-product one, which has no bound Φ).
    await runIndexCli(['index', 'build', '--export', ex.dir, '--no-tune']);
    // Row 0 re-sent with row 1's features: same row, row 1's vector.
    const csv = join(ex.dir, 'replace.csv');
    writeFileSync(csv, rawCsv(A, [1]).replace(A.itemIds[1]!, A.itemIds[0]!));
    const out = await runIndexCli(['index', 'add', '--export', ex.dir, '--items', csv, '--json']);
    const r = JSON.parse(out);
    assert.deepEqual(
      [r.revision, r.added, r.replaced, r.itemCount, r.liveItems, r.compacted, r.logRecords],
      [0, 0, 1, 60, 60, false, 1],
    );
    const B = loadExport(ex.dir);
    const D = A.manifest.dim;
    // Row 0 now holds item 0's id with item 1's other features, embedded by the item tower.
    const tags = A.items.seq['tags']!;
    const want = A.itemTower.run({
      size: 1,
      cat: { item_id: A.items.cat['item_id']!.slice(0, 1), category: A.items.cat['category']!.slice(1, 2) },
      seq: { tags: { ids: tags.ids.slice(tags.maxLen, 2 * tags.maxLen), maxLen: tags.maxLen } },
      num: { price: A.items.num['price']!.slice(1, 2) },
      labels: {},
      extra: {},
    });
    assert.ok(maxAbsDiff(B.itemVectors.subarray(0, D), want) <= 1e-6);
    assert.notDeepEqual(B.itemVectors.subarray(0, D), A.itemVectors.subarray(0, D));
    assert.deepEqual(B.itemVectors.subarray(D), A.itemVectors.subarray(D), 'other rows untouched');
    assert.equal(HnswIndex.load(ex.dir, B).size(), 60);
    // The replaced row is found by its new vector (the log's exact search), not its old one (the graph's).
    const hnsw = loadServingState(ex.dir, 'hnsw').index;
    const newVec = B.itemVectors.subarray(0, D);
    assert.deepEqual(
      [...hnsw.search(newVec, 5).keys].filter((k) => k === 0).length,
      [...loadServingState(ex.dir, 'exact').index.search(newVec, 5).keys].filter((k) => k === 0).length,
    );
    assert.equal(
      new Set(hnsw.search(newVec, 60).keys).size,
      hnsw.search(newVec, 60).keys.length,
      'no row twice',
    );

    // A price far outside the catalogue's range makes a vector longer than Φ: refused, nothing written.
    const before = readFileSync(join(ex.dir, 'manifest.json'), 'utf8');
    const big = join(ex.dir, 'big.csv');
    writeFileSync(big, `item_id,category,tags,price\nnew1,c1,t1|t2,10\n`);
    const filesBefore = readdirSync(ex.dir).sort();
    await assert.rejects(
      runIndexCli(['index', 'add', '--export', ex.dir, '--items', big]),
      /index add: item vector norm .* exceeds the index's bound Φ .*: item\(s\) new1; nothing was written — rerun with --rebuild-index/,
    );
    assert.equal(readFileSync(join(ex.dir, 'manifest.json'), 'utf8'), before);
    assert.deepEqual(readdirSync(ex.dir).sort(), filesBefore);
    // --rebuild-index: the item is added and the rebuilt index (new Φ) serves it.
    const rebuilt = JSON.parse(
      await runIndexCli(['index', 'add', '--export', ex.dir, '--items', big, '--rebuild-index', '--json']),
    );
    assert.deepEqual(
      [rebuilt.revision, rebuilt.added, rebuilt.liveItems, rebuilt.compacted],
      [1, 1, 61, true],
    );
    const s = loadServingState(ex.dir, 'hnsw');
    const row = s.bundle.itemRow.get('new1')!;
    const v = s.bundle.itemVectors.subarray(row * D, (row + 1) * D);
    assert.equal(s.index.search(v, 1).keys[0], row, 'the long new vector is its own best match');
  });

  test('bad input files name the file, line and column', async () => {
    const ex = tinyExport({ scoreFn: 'cosine', seed: 7 });
    const f = (name: string, text: string) => {
      const p = join(ex.dir, name);
      writeFileSync(p, text);
      return p;
    };
    const add = (p: string) => runIndexCli(['index', 'add', '--export', ex.dir, '--items', p]);
    await assert.rejects(add(f('a.csv', 'item_id,category,tags\nx,c1,t1\n')), /missing column 'price'/);
    await assert.rejects(
      add(f('b.csv', 'item_id,category,tags,price\nx,c1,t1,0.5\ny,c2,t2,cheap\n')),
      /b\.csv:3: line 3, column 'price'.*expected DOUBLE/,
    );
    await assert.rejects(
      add(f('c.csv', 'item_id,category,tags,price\nx,c1,t1,0.5\n,c2,t2,1\n')),
      /c\.csv: line 3, column 'item_id': missing item id/,
    );
    await assert.rejects(
      add(
        f(
          'd.jsonl',
          '{"item_id":"x","category":"c1","tags":"t1","price":1}\n{"item_id":"x","category":"c2","tags":"","price":2}\n',
        ),
      ),
      /d\.jsonl: item 'x' appears twice \(lines 1 and 2\)/,
    );
    assert.equal(readManifest(ex.dir).revision, undefined, 'nothing was committed');
  });
});

describe('kdrec index remove', () => {
  test('a removed item leaves search and the cascade (HNSW and exact); re-adding takes its row back', async () => {
    const ex = tinyExport({ scoreFn: 'dot', seed: 8 });
    await runIndexCli(['index', 'build', '--export', ex.dir]);
    const before = loadServingState(ex.dir);
    const user = before.bundle.encodeUser({ userId: userToken(5) });
    const u = before.bundle.userVector(user);
    const cascade = (s: typeof before) =>
      runCascade(
        {
          recall: (n) => s.index.search(u, n),
          prerank: (rows) => s.bundle.prerankScores(user, rows),
        },
        { n: 30, m: 10, k: 5 },
      );
    const top = cascade(before);
    const victims = [...top.items.slice(0, 2)].map((r) => before.bundle.itemIds[r]!);
    const out = await runIndexCli(['index', 'remove', '--export', ex.dir, '--ids', victims.join(',')]);
    assert.match(
      out,
      /revision 0 \+ 1 logged update\(s\): 0 added, 0 replaced, 2 removed; 58 items served \(60 rows\)/,
    );

    for (const [kind, s] of [
      ['hnsw', loadServingState(ex.dir, 'hnsw')],
      ['exact', loadServingState(ex.dir, 'exact')],
      ['hnsw async', await loadServingStateAsync(ex.dir, 'hnsw')],
    ] as const) {
      const rows = new Set(victims.map((id) => s.bundle.itemRow.get(id)!));
      assert.equal(s.index.size(), 58, kind);
      const hits = [...s.index.search(u, 60).keys];
      // Exact search returns every live item. HNSW is approximate, and `index build` adds on several
      // threads (not repeatable): it has returned 54–58 of the 58 here.
      if (kind === 'exact') assert.equal(hits.length, 58, kind);
      else assert.ok(hits.length >= 52 && hits.length <= 58, `${kind}: ${hits.length} of 58 items recalled`);
      assert.ok(!hits.some((r) => rows.has(r)), `${kind}: removed items are not recalled`);
      const c = cascade(s);
      assert.ok(![...c.recalled, ...c.items].some((r) => rows.has(r)), `${kind}: nor served`);
      // The rest of the ranking is unchanged.
      assert.deepEqual([...c.items.slice(0, 3)], [...top.items.slice(2, 5)], kind);
    }

    // Unknown or already removed ids: an error naming them, unless --ignore-missing.
    await assert.rejects(
      runIndexCli(['index', 'remove', '--export', ex.dir, '--ids', `${victims[0]},nope`]),
      new RegExp(
        `2 item id\\(s\\) not in the catalogue .*: ${victims[0]}, nope \\(--ignore-missing skips them\\)`,
      ),
    );
    const idsFile = join(ex.dir, 'ids.txt');
    writeFileSync(idsFile, `nope\n\n${victims[0]}\n`);
    const skipped = JSON.parse(
      await runIndexCli([
        'index',
        'remove',
        '--export',
        ex.dir,
        '--ids-file',
        idsFile,
        '--ignore-missing',
        '--json',
      ]),
    );
    assert.deepEqual(
      [skipped.revision, skipped.removed, skipped.missing, skipped.logRecords],
      [0, 0, ['nope', victims[0]], 1],
    );

    // Re-adding a removed id takes its old row back and serves it again.
    const csv = join(ex.dir, 'back.csv');
    const row0 = before.bundle.itemRow.get(victims[0]!)!;
    writeFileSync(csv, rawCsv(before.bundle, [row0]));
    await runIndexCli(['index', 'add', '--export', ex.dir, '--items', csv]);
    const after = loadServingState(ex.dir);
    assert.equal(after.bundle.manifest.revision, undefined, 'logged, not compacted');
    assert.equal(after.bundle.catalogueDelta?.records, 2);
    assert.equal(after.bundle.itemRow.get(victims[0]!), row0);
    assert.equal(after.index.size(), 59);
    assert.equal(cascade(after).items[0], row0);
  });

  test('updates commit by revision: the previous revision stays readable, older files go, a stale index is refused', async () => {
    const ex = tinyExport({ scoreFn: 'cosine', seed: 9 });
    await runIndexCli(['index', 'build', '--export', ex.dir]);
    const m0 = readManifest(ex.dir);
    const ids = loadExport(ex.dir).itemIds;
    updateCatalogue(ex.dir, { remove: [ids[0]!], compact: true });
    const m1 = readManifest(ex.dir);
    // Revision 0's files are still there for a reader that read the old manifest a moment ago.
    for (const f of [m0.files.itemIds, m0.files.itemVectors, 'index.json', 'index.usearch'])
      assert.ok(existsSync(join(ex.dir, f)), f);
    assert.notEqual(m1.files.itemVectors, m0.files.itemVectors);
    updateCatalogue(ex.dir, { remove: [ids[1]!], compact: true });
    const m2 = readManifest(ex.dir);
    for (const f of [m0.files.itemIds, m0.files.itemVectors, 'index.json', 'index.usearch'])
      assert.ok(!existsSync(join(ex.dir, f)), `${f} (two revisions back) is deleted`);
    for (const f of [m1.files.itemIds, m1.files.index!, m2.files.itemIds, m2.files.index!])
      assert.ok(existsSync(join(ex.dir, f)), f);
    assert.ok(!readdirSync(ex.dir).some((f) => f.includes('.tmp-') || f.endsWith('.lock')));

    // A manifest pointing at another revision's index (e.g. restored by hand) is refused.
    writeJson(join(ex.dir, 'manifest.json'), { ...m2, files: { ...m2.files, index: m1.files.index } });
    assert.throws(
      () => loadServingState(ex.dir),
      /built for revision 1 of the export's item table, manifest.json is at revision 2; rebuild/,
    );
    // `index build` at revision 2 saves under new names and commits them.
    await runIndexCli(['index', 'build', '--export', ex.dir]);
    const m3 = readManifest(ex.dir);
    assert.equal(m3.revision, 2);
    assert.notEqual(m3.files.index, m1.files.index);
    assert.equal(loadServingState(ex.dir).index.size(), 58);
  });

  test('an update while a lock is held is refused; both --ids and --ids-file is refused', async () => {
    const ex = tinyExport({ scoreFn: 'cosine', seed: 10 });
    writeFileSync(join(ex.dir, '.kdrec-update.lock'), '1\n');
    await assert.rejects(
      runIndexCli(['index', 'remove', '--export', ex.dir, '--ids', 'i001']),
      /\.kdrec-update\.lock exists: another `kdrec index add\/remove` is updating/,
    );
    await assert.rejects(
      runIndexCli(['index', 'remove', '--export', ex.dir, '--ids', 'i001', '--ids-file', 'x']),
      /give exactly one of --ids id1,id2 or --ids-file FILE/,
    );
  });
});

test('a running server picks an update up through its existing reload (no mutation endpoint)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'kdrec-idx-root-'));
  const ex = tinyExport({ scoreFn: 'dot', seed: 12, dir: join(root, 'v1') });
  await runIndexCli(['index', 'build', '--export', ex.dir]);
  const svc = await buildService({ exportRoot: root, exportDir: 'v1', n: 40, m: 20, k: 5 });
  try {
    const recommend = async () =>
      (
        await svc.app.inject({ method: 'POST', url: '/recommend', payload: { user_id: userToken(4), k: 5 } })
      ).json() as { items: { id: string }[] };
    const top = (await recommend()).items[0]!.id;
    await runIndexCli(['index', 'remove', '--export', ex.dir, '--ids', top]);
    assert.equal((await recommend()).items[0]!.id, top, 'the loaded state is unchanged until a reload');
    const r = await svc.app.inject({ method: 'POST', url: '/admin/reload', payload: {} });
    assert.equal(r.statusCode, 200, r.body);
    const ids = (await recommend()).items.map((i) => i.id);
    assert.ok(!ids.includes(top), `${top} is no longer served: ${ids.join(', ')}`);
  } finally {
    await svc.app.close();
  }
});

describe('catalogue log', () => {
  test('logged updates serve like their compaction and a full rebuild; a torn tail is ignored with a warning and cut by the next append', async () => {
    const ex = tinyExport({ scoreFn: 'dot', seed: 21, ranker: {} });
    await runIndexCli(['index', 'build', '--export', ex.dir]);
    const A = loadExport(ex.dir);
    const D = A.manifest.dim;
    // Five new items (the features of rows 0..4 under new ids), two removed.
    const csv = join(ex.dir, 'new.csv');
    writeFileSync(
      csv,
      rawCsv(A, [0, 1, 2, 3, 4])
        .split('\n')
        .map((l, i) => (i === 0 || l === '' ? l : l.replace(/^[^,]+/, `n${i - 1}`)))
        .join('\n'),
    );
    const added = JSON.parse(
      await runIndexCli([
        'index',
        'add',
        '--export',
        ex.dir,
        '--items',
        csv,
        '--compact-fraction',
        '1',
        '--json',
      ]),
    );
    assert.deepEqual([added.added, added.logRecords, added.withoutWindowKeys], [5, 1, 5]);
    const gone = [A.itemIds[10]!, A.itemIds[11]!];
    await runIndexCli([
      'index',
      'remove',
      '--export',
      ex.dir,
      '--ids',
      gone.join(','),
      '--compact-fraction',
      '1',
    ]);

    const L = loadServingState(ex.dir, 'hnsw');
    const Lx = loadServingState(ex.dir, 'exact');
    assert.equal(L.bundle.catalogueDelta?.records, 2);
    assert.equal(L.bundle.manifest.itemCount, 65);
    assert.deepEqual(L.bundle.itemIds.slice(60), ['n0', 'n1', 'n2', 'n3', 'n4']);
    assert.equal(L.bundle.itemVectors.length, 65 * D);
    assert.deepEqual([L.bundle.itemLive![10], L.bundle.itemLive![11], L.index.size()], [0, 0, 63]);
    // No window keys for the added rows: flagged, not guessed.
    assert.equal(L.bundle.rankPrivileged!.hasKeys(60), false);
    assert.equal(L.bundle.rankPrivileged!.hasKeys(0), true);
    const u = A.userVector(A.encodeUser({ userId: userToken(2) }));
    const exact = Lx.index.search(u, 65);
    assert.equal(exact.keys.length, 63);
    const approx = L.index.search(u, 20);
    const want = new Set(exact.keys.slice(0, 20));
    assert.equal(new Set(approx.keys).size, approx.keys.length, 'no row twice');
    assert.ok(![...approx.keys].some((r) => r === 10 || r === 11), 'removed rows are not recalled');
    const hit = [...approx.keys].filter((r) => want.has(r)).length;
    assert.ok(hit >= 18, `HNSW + log recall@20 ${hit}/20`);

    // A crash mid-append: a third record cut short. Loaders apply the two whole ones and warn.
    const logPath = join(ex.dir, 'catalogue.r0.log');
    const whole = readFileSync(logPath);
    await runIndexCli([
      'index',
      'remove',
      '--export',
      ex.dir,
      '--ids',
      A.itemIds[12]!,
      '--compact-fraction',
      '1',
    ]);
    const three = readFileSync(logPath);
    writeFileSync(logPath, three.subarray(0, three.length - 7));
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const T = loadExport(ex.dir);
      await new Promise((r) => setImmediate(r));
      assert.equal(T.catalogueDelta?.records, 2);
      assert.equal(T.itemLive![12], 1, 'the torn update is not applied');
      assert.ok(
        warnings.some((w) => /torn tail of \d+ bytes after 2 whole update record\(s\)/.test(w)),
        warnings.join('; '),
      );
    } finally {
      process.off('warning', onWarning);
    }
    const again = JSON.parse(
      await runIndexCli([
        'index',
        'remove',
        '--export',
        ex.dir,
        '--ids',
        A.itemIds[12]!,
        '--compact-fraction',
        '1',
        '--json',
      ]),
    );
    assert.equal(again.truncatedBytes, three.length - 7 - whole.length);
    assert.equal(again.logRecords, 3);
    assert.deepEqual(readFileSync(logPath), three, 'the re-done update is the record the crash cut');

    // Compaction: a new revision holding the same catalogue; the graph now holds the added items.
    assert.match(await runIndexCli(['index', 'compact', '--export', ex.dir]), /revision 1: 65 rows/);
    const C = loadServingState(ex.dir, 'hnsw');
    const Cx = loadServingState(ex.dir, 'exact');
    assert.equal(C.bundle.catalogueDelta, null);
    assert.deepEqual(C.bundle.itemIds, Lx.bundle.itemIds);
    assert.deepEqual(C.bundle.itemVectors, Lx.bundle.itemVectors);
    assert.equal(C.index.size(), 62);
    for (const k of Object.keys(A.items.cat))
      assert.deepEqual(C.bundle.items.cat[k], Lx.bundle.items.cat[k], k);
    // The added rows have no window keys after compaction either (the rank keys file is the export's).
    assert.equal(C.bundle.rankPrivileged!.hasKeys(60), false);
    const afterLog = Lx.index.search(u, 65);
    const compacted = Cx.index.search(u, 65);
    assert.deepEqual(
      [...compacted.keys],
      [...afterLog.keys].filter((r) => r !== 12),
    );
    // A full rebuild of the index over the compacted table serves the same items.
    await runIndexCli(['index', 'build', '--export', ex.dir]);
    const R = loadServingState(ex.dir, 'hnsw');
    assert.equal(R.index.size(), 62);
    const rebuilt = new Set(R.index.search(u, 20).keys);
    const exact20 = compacted.keys.slice(0, 20);
    assert.ok(exact20.filter((r) => rebuilt.has(r)).length >= 18);
    assert.ok(!existsSync(logPath), 'the folded log goes once no manifest in use refers to it');

    // A log left over from another export of the same directory is refused, never applied.
    const other = tinyExport({ scoreFn: 'dot', seed: 22 });
    writeFileSync(join(other.dir, 'catalogue.r0.log'), three);
    assert.throws(
      () => loadExport(other.dir),
      /the log belongs to the export of .* delete the log or restore its export/,
    );
  });
});
