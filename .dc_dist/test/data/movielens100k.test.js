import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { privilegedColumns } from '../../src/data/dataset.js';
import { loadDataset } from '../../src/data/loaders/index.js';
import { tempDir, writeMovielensFixture } from './fixtures.js';
test('movielens-100k loader on a fixture: Latin-1 titles, genres multi-hot, long label, demographics, privileged genre counts', async () => {
    const dir = tempDir('ml');
    writeMovielensFixture(dir);
    const ds = await loadDataset(`movielens-100k:${dir}`, { split: { kind: 'time', train: 0.7, valid: 0.1 } });
    assert.equal(ds.stats.rows, 10);
    assert.equal(ds.stats.users, 3);
    assert.equal(ds.stats.items, 4);
    const ev = ds.events.columns;
    assert.deepEqual([...ev.labels.click], Array(10).fill(1));
    const g = ds.vocabs.genres;
    const item1 = ds.itemIds.indexOf('1');
    const L = ds.items.columns.seq.genres.maxLen;
    const ids = [...ds.items.columns.seq.genres.ids.subarray(item1 * L, item1 * L + L)];
    assert.deepEqual(ids.filter((x) => x >= 0).map((x) => g.tokenOf(x)), ['Animation', "Children's", 'Comedy']);
    assert.equal(ids.filter((x) => x < 0).length, L - 3, 'padded with -1');
    // rating >= 4 ⇒ long engagement
    for (let i = 0; i < ev.size; i++)
        assert.equal(ev.labels.long_engagement[i], ev.labels.rating[i] >= 4 ? 1 : 0);
    // Age bucket of user 3 (age 17) is '<18'; zip prefix is the first two characters.
    const u3 = ds.userIds.indexOf('3');
    const row = [...Array(ev.size).keys()].find((i) => ev.userKey[i] === u3 && ds.split[i] === 0);
    assert.equal(ds.vocabs.age_bucket.tokenOf(ev.cat.age_bucket[row]), '<18');
    assert.equal(ds.vocabs.zip_prefix.tokenOf(ev.cat.zip_prefix[row]), 'T8');
    // Privileged: user 1 rated item 1 (Animation/Children's/Comedy) at 1000 and items 3 and 2 at 1010;
    // at 1010 the ratings in the same second are invisible, so item 3 (Action/Crime/Thriller) sees 0
    // genre matches and item 2 (Drama/War) sees 0; at 200000 (item 4, unknown) nothing in 24 h.
    const u1 = ds.userIds.indexOf('1');
    const raw = (i) => Math.round(Math.expm1(ev.num.user_genre_ratings[i]));
    const at = (user, item) => [...Array(ev.size).keys()].find((i) => ev.userKey[i] === user && ev.itemKey[i] === ds.itemIds.indexOf(item));
    assert.equal(raw(at(u1, '3')), 0);
    assert.equal(raw(at(u1, '2')), 0);
    // User 3 rated items 4 and 1 at 2000, then item 3 (Action/Crime/Thriller) at 2500: no shared genre.
    assert.equal(raw(at(u3, '3')), 0);
    // User 2 rated item 3 at 90000 and item 2 (Drama/War) at 90001: no shared genre; item 1 at 500.
    const u2 = ds.userIds.indexOf('2');
    assert.equal(raw(at(u2, '2')), 0);
    // Genre overlap case: user 3 rated item 1 (Animation, Children's, Comedy) at 2000; construct a query.
    const q = privilegedColumns(ds, Int32Array.from([u3]), Int32Array.from([item1]), Float64Array.from([2001]));
    assert.equal(Math.round(Math.expm1(q.user_genre_ratings[0])), 3, 'three matching genres of one rating, summed over genres');
    const q2 = privilegedColumns(ds, Int32Array.from([u3]), Int32Array.from([item1]), Float64Array.from([2000]));
    assert.equal(Math.round(Math.expm1(q2.user_genre_ratings[0])), 0, 'same second is invisible');
});
const here = dirname(fileURLToPath(import.meta.url));
function dataRoot() {
    // test/data → repo root is two levels up in source, three in dist/test/data.
    const up = existsSync(join(here, '..', '..', 'package.json'))
        ? join(here, '..', '..')
        : join(here, '..', '..', '..');
    return process.env.KDREC_DATA ?? join(up, '..', 'shared', 'data');
}
test('[slow] movielens-100k loader reproduces 100,000 ratings, 943 users, 1,682 items', async (t) => {
    const ml = join(dataRoot(), 'movielens-100k');
    if (!existsSync(join(ml, 'u.data'))) {
        t.skip(`MovieLens-100K not found at ${ml} (set KDREC_DATA to the shared data folder)`);
        return;
    }
    const ds = await loadDataset(`movielens-100k:${ml}`);
    assert.equal(ds.stats.rows, 100000);
    assert.equal(ds.stats.users, 943);
    assert.equal(ds.stats.items, 1682);
    assert.deepEqual(ds.stats.splitRows, { train: 80000, valid: 10000, test: 10000 });
    assert.equal(ds.vocabs.genres.size, 20, '19 genres + OOV');
    assert.equal(ds.fingerprint.files.find((f) => f.path.endsWith('u.data')).sha256, '06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490');
});
//# sourceMappingURL=movielens100k.test.js.map