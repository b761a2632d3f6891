/**
 * Loading for serving: the asynchronous loader (what a server reloads with) builds the same state as
 * the synchronous one, maps the saved graph read-only, yields to the event loop inside catalogue-sized
 * loops, and parses the item-id array in slices exactly as JSON.parse would.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HnswIndex } from '../../src/serve/annIndex.js';
import {
  indexIds,
  type Loader,
  loadExport,
  PAUSE_EVERY,
  parseStringArray,
  runLoaderSync,
} from '../../src/serve/bundle.js';
import { loadServingState, loadServingStateAsync } from '../../src/serve/servingState.js';
import { tinyExport, userToken } from './fixture.js';

/** Runs a loader that reads nothing, counting its pause steps. */
function pauses<T>(loader: Loader<T>): { value: T; pauses: number } {
  let n = 0;
  let r = loader.next();
  while (!r.done) {
    assert.equal(r.value.op, 'pause');
    n++;
    r = loader.next();
  }
  return { value: r.value, pauses: n };
}

test('loadServingStateAsync gives the state loadServingState gives, with a read-only mapped graph', async () => {
  const ex = tinyExport({ scoreFn: 'dot', seed: 11 });
  const b = loadExport(ex.dir);
  new HnswIndex(b.manifest.dim, b.itemVectors, 'dot').save(ex.dir, b.manifest);
  const sync = loadServingState(ex.dir);
  const async = await loadServingStateAsync(ex.dir);
  assert.equal(async.indexKind, 'hnsw');
  assert.deepEqual(async.bundle.itemIds, sync.bundle.itemIds);
  assert.deepEqual(async.bundle.itemVectors, sync.bundle.itemVectors);
  assert.deepEqual(async.bundle.items, sync.bundle.items);
  const user = async.bundle.encodeUser({ userId: userToken(2) });
  assert.deepEqual(async.bundle.userVector(user), sync.bundle.userVector(user));
  const u = async.bundle.userVector(user);
  assert.deepEqual(async.index.search(u, 25), sync.index.search(u, 25));
  assert.throws(() => async.index.remove(Int32Array.of(1)), /read-only memory map/);
  await assert.rejects(
    loadServingStateAsync(`${ex.dir}/nope`),
    /is not a kdrec export: manifest\.json is missing/,
  );
  // The server's --ef reaches the loaded graph; the default is HNSW_DEFAULTS'.
  assert.equal((sync.index as HnswIndex).opts.expansionSearch, 256);
  const tuned = await loadServingStateAsync(ex.dir, 'hnsw', { ef: 64 });
  assert.equal((tuned.index as HnswIndex).opts.expansionSearch, 64);
  assert.deepEqual(tuned.index.search(u, 25).keys.length, 25);
});

test('catalogue-sized loops yield to the event loop every PAUSE_EVERY rows', () => {
  const ids = Array.from({ length: 2 * PAUSE_EVERY + 7 }, (_, i) => `item-${i}`);
  const r = pauses(indexIds(ids));
  assert.equal(r.pauses, 2);
  assert.equal(r.value.get(`item-${PAUSE_EVERY + 3}`), PAUSE_EVERY + 3);
  assert.equal(r.value.size, ids.length);
});

test('parseStringArray parses in slices exactly as JSON.parse, escapes and whitespace included', () => {
  const ids = ['a', 'b,c', 'quote"inside', 'back\\slash', 'ends\\', '","', '', 'ünï', '\n', 'x'.repeat(50)];
  const many = Array.from({ length: 3000 }, (_, i) => ids[i % ids.length]! + i);
  for (const text of [
    JSON.stringify(many),
    JSON.stringify(many, null, 2),
    ` [ ${many.map((s) => JSON.stringify(s)).join(' ,\n')} ] \n`,
  ]) {
    const r = pauses(parseStringArray('ids.json', text, 1000));
    assert.deepEqual(r.value, many);
    assert.ok(r.pauses > 10, `${r.pauses} pauses`);
  }
  assert.deepEqual(runLoaderSync(parseStringArray('ids.json', '[]')), []);
  assert.deepEqual(runLoaderSync(parseStringArray('ids.json', ' [ ] ')), []);
  const bad: [string, RegExp][] = [
    ['{"a":1}', /ids\.json: expected a JSON array of strings, found '\{' at character 0/],
    ['["a", 3]', /found '3' where a string should start at character 6/],
    ['["a" "b"]', /found '"' after a string at character 5/],
    ['["a', /an unterminated string at character 1/],
    ['["a"] x', /trailing characters at character 5/],
    ['["a\\x"]', /ids\.json: not valid JSON near character 1/],
  ];
  for (const [text, re] of bad) assert.throws(() => runLoaderSync(parseStringArray('ids.json', text)), re);
});
