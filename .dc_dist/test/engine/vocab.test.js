import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fnv1a32, hashBucket, Vocab } from '../../src/engine/vocab.js';
test('vocab: index 0 is OOV, frequent tokens first, minCount drops rare ids', () => {
    const v = Vocab.build('item', ['b', 'a', 'b', 'c', 'b', 'a', null, undefined], 2);
    assert.deepEqual([...v.tokens], ['b', 'a']);
    assert.equal(v.size, 3);
    assert.equal(v.lookup('b'), 1);
    assert.equal(v.lookup('a'), 2);
    assert.equal(v.lookup('c'), 0, 'below minCount maps to OOV');
    assert.equal(v.lookup('zzz'), 0);
    assert.equal(v.lookup(null), 0);
    assert.equal(v.tokenOf(2), 'a');
    assert.equal(v.tokenOf(0), null);
});
test('vocab: ties are ordered by token so the mapping is deterministic', () => {
    const a = Vocab.fromCounts('x', [
        ['q', 1],
        ['p', 1],
        ['r', 3],
    ]);
    const b = Vocab.fromCounts('x', [
        ['r', 3],
        ['p', 1],
        ['q', 1],
    ]);
    assert.deepEqual([...a.tokens], ['r', 'p', 'q']);
    assert.deepEqual(a.toJSON(), b.toJSON());
});
test('vocab: JSON round trip keeps every mapping', () => {
    const v = Vocab.build('u', ['x', 'y', 'y', 'é', '🙂']);
    const w = Vocab.fromJSON(JSON.parse(JSON.stringify(v.toJSON())));
    for (const t of ['x', 'y', 'é', '🙂', 'nope'])
        assert.equal(w.lookup(t), v.lookup(t));
    assert.equal(w.size, v.size);
    assert.throws(() => Vocab.fromJSON({ name: 'bad', minCount: 1, tokens: ['a'], counts: [] }), /differ in length/);
    assert.throws(() => Vocab.fromCounts('bad', [], 0), /minCount/);
});
test('hashBucket: FNV-1a 32-bit reference values and UTF-8 encoding', () => {
    // Published FNV-1a test vectors.
    assert.equal(fnv1a32(''), 0x811c9dc5);
    assert.equal(fnv1a32('a'), 0xe40c292c);
    assert.equal(fnv1a32('foobar'), 0xbf9cf968);
    // The inline UTF-8 encoder must agree with hashing the encoded bytes.
    const ref = (s) => {
        let h = 0x811c9dc5;
        for (const b of Buffer.from(s, 'utf8'))
            h = Math.imul(h ^ b, 0x01000193);
        return h >>> 0;
    };
    for (const s of ['Misérables', '日本語', '🙂 emoji', 'ascii-only', '\u07ff\u0800'])
        assert.equal(fnv1a32(s), ref(s), s);
    for (const s of ['1', 'abc', 'user_42']) {
        const b = hashBucket(s, 1000);
        assert.ok(b >= 0 && b < 1000);
        assert.equal(b, fnv1a32(s) % 1000);
    }
    assert.throws(() => hashBucket('x', 0), /positive integer/);
});
//# sourceMappingURL=vocab.test.js.map