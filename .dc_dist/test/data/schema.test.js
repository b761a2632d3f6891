import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeInPlace, Schema } from '../../src/data/schema.js';
const decl = {
    fields: [
        { name: 'user_id', kind: 'categorical', group: 'user' },
        { name: 'history', kind: 'sequence', group: 'user', maxLen: 5, poolFrom: 'item_id' },
        { name: 'item_id', kind: 'categorical', group: 'item', embedding: { dim: 16, share: 'items' } },
        { name: 'category', kind: 'categorical', group: 'item', hashBuckets: 100 },
        { name: 'hour', kind: 'categorical', group: 'context' },
        { name: 'user_cat_clicks', kind: 'numeric', group: 'privileged', normalize: 'log1p' },
        { name: 'click', kind: 'label' },
    ],
};
test('a view returns only its groups and throws naming consumer, group and field otherwise', () => {
    const s = new Schema(decl);
    const userTower = s.view(['user', 'context'], 'twoTower.userTower');
    assert.deepEqual(userTower.fields.map((f) => f.name), ['user_id', 'history', 'hour']);
    assert.equal(userTower.field('user_id').name, 'user_id');
    assert.throws(() => userTower.field('category'), /twoTower\.userTower may not read item field 'category'/);
    const student = s.view(['user', 'item', 'context'], 'twoTower');
    assert.throws(() => student.field('user_cat_clicks'), /twoTower may not read privileged field 'user_cat_clicks'/);
    assert.throws(() => student.field('click'), /may not read label 'click'/);
    assert.throws(() => student.narrow(['privileged'], 'twoTower.userTower'), /may not read privileged fields/);
    assert.deepEqual(student.narrow(['item'], 'twoTower.itemTower').fields.map((f) => f.name), ['item_id', 'category']);
    const teacher = s.view(['user', 'item', 'context', 'privileged'], 'rankingDnn');
    assert.equal(teacher.numeric.length, 1);
    assert.throws(() => s.view(['bogus'], 'x'), /unknown field group 'bogus'/);
});
test("embedding tables: share names a table, poolFrom reads the other field's table", () => {
    const s = new Schema(decl);
    assert.equal(s.field('item_id').table, 'items');
    assert.equal(s.field('item_id').embeddingDim, 16);
    assert.equal(s.field('history').table, 'items', 'history pools from the item_id table');
    assert.equal(s.field('user_id').table, 'user_id');
    assert.equal(s.field('history').maxLen, 5);
    assert.equal(s.field('history').pooling, 'mean');
    assert.throws(() => s.tableSize('items'), /not fitted/);
    const fitted = s.withFit({
        tableSizes: { items: 10, user_id: 5, category: 101, hour: 25 },
        numericStats: {},
    });
    assert.equal(fitted.view(['item'], 'm').tableSize('items'), 10);
});
test('a label can never be declared as a feature (the Ali-CCP ctcvr leak)', () => {
    const leak = {
        fields: [
            { name: 'user_id', kind: 'categorical', group: 'user' },
            { name: 'ctcvr_feature', kind: 'numeric', group: 'item', source: 'ctcvr' },
            { name: 'ctcvr', kind: 'label' },
        ],
    };
    assert.throws(() => new Schema(leak, null, 'ali.yaml'), /ali\.yaml: invalid schema[\s\S]*'ctcvr_feature' \(item\) reads column 'ctcvr', which is the source of label 'ctcvr'/);
    const sameName = {
        fields: [
            { name: 'Click', kind: 'categorical', group: 'context' },
            { name: 'label_click', kind: 'label', source: 'click' },
        ],
    };
    assert.throws(() => new Schema(sameName), /a label can never be a feature/);
});
test('declaration errors list every problem with its path', () => {
    const bad = {
        fields: [
            { name: 'user_id', kind: 'categorical' },
            { name: 'hist', kind: 'multi_hot', group: 'user' },
            { name: 'x', kind: 'numeric', group: 'item', hashBuckets: 3 },
            { name: 'h2', kind: 'sequence', group: 'user', maxLen: 3, poolFrom: 'nope' },
        ],
    };
    assert.throws(() => new Schema(bad, null, 'cfg.yaml'), (e) => {
        assert.match(e.message, /fields\[0\] 'user_id': group is required/);
        assert.match(e.message, /fields\[1\] 'hist': multi_hot needs maxLen/);
        assert.match(e.message, /fields\[2\] 'x': hashBuckets\/minCount\/embedding apply to id fields only/);
        assert.match(e.message, /poolFrom 'nope' is not a declared field/);
        return true;
    });
    assert.throws(() => new Schema({ fields: [{ name: 'a', kind: 'categorical', group: 'usr' }] }, null, 'cfg.yaml'), /cfg\.yaml: invalid schema\n {2}fields\[0\]\.group: /);
    assert.throws(() => new Schema({ fields: [{ name: '1bad', kind: 'numeric', group: 'user' }] }), /fields\[0\]\.name: must be an identifier/);
});
test('numeric normalisations use the given (train) statistics', () => {
    const st = { mean: 2, std: 2, min: 1, max: 5 };
    assert.deepEqual([...normalizeInPlace(Float32Array.from([2, 4, 0]), 'standard', st)], [0, 1, -1]);
    assert.deepEqual([...normalizeInPlace(Float32Array.from([1, 5, 3]), 'minmax', st)], [0, 1, 0.5]);
    assert.deepEqual([...normalizeInPlace(Float32Array.from([0, Math.E - 1]), 'log1p', st)].map((x) => +x.toFixed(5)), [0, 1]);
    assert.deepEqual([...normalizeInPlace(Float32Array.from([7]), 'none', st)], [7]);
});
//# sourceMappingURL=schema.test.js.map