import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { parseSplitOption, register } from '../../src/cli/commands/data.js';
import { formatSummary, summarizeDataset } from '../../src/data/inspect.js';
import { loadDataset } from '../../src/data/loaders/index.js';
import { tempDir, writeSimFixture } from './fixtures.js';
test('inspect summary: rows, label rates, cardinalities per group, OOV counts', async () => {
    const dir = tempDir('inspect');
    writeSimFixture(dir, 60, 5);
    const ds = await loadDataset(`sim:${dir}`);
    const s = summarizeDataset(ds);
    assert.equal(s.rows, 60);
    assert.deepEqual(s.splitRows, { train: 48, valid: 6, test: 6 });
    assert.deepEqual(s.groups.user.map((f) => f.name), ['user_id', 'age_bucket', 'gender', 'region']);
    assert.deepEqual(s.groups.item.map((f) => f.name), ['item_id', 'category', 'shop']);
    assert.deepEqual(s.groups.privileged.map((f) => f.name), ['user_category_clicks', 'user_shop_clicks']);
    const item = s.groups.item.find((f) => f.name === 'item_id');
    assert.equal(item.oov, ds.stats.coverage.item_id.oov);
    assert.ok(item.oov > 0);
    assert.equal(item.tableSize, ds.vocabs.item_id.size);
    assert.equal(item.distinct, ds.vocabs.item_id.size - 1, 'every train item is seen');
    const text = formatSummary(s);
    assert.match(text, /rows {6}60 events, 4 users, 6 items/);
    assert.match(text, /privileged fields \(2\)/);
    assert.match(text, /click +0\.\d+ \/ /);
});
test('--split parsing', () => {
    assert.deepEqual(parseSplitOption('time'), { kind: 'time', train: 0.8, valid: 0.1 });
    assert.deepEqual(parseSplitOption('time:0.7,0.15'), { kind: 'time', train: 0.7, valid: 0.15 });
    assert.deepEqual(parseSplitOption('leave-last-out'), { kind: 'leave-last-out' });
    assert.throws(() => parseSplitOption('random'), /expected time, time:TRAIN,VALID/);
});
test('`kdrec data inspect DIR` prints the summary; DIR and --dataset are exclusive', async () => {
    const dir = tempDir('inspectcli');
    writeSimFixture(dir, 40, 2);
    const program = new Command();
    program.exitOverride();
    register(program);
    let out = '';
    const orig = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk) => {
        out += chunk;
        return true;
    });
    try {
        await program.parseAsync(['node', 'kdrec', 'data', 'inspect', dir, '--split', 'time:0.5,0.25']);
    }
    finally {
        process.stdout.write = orig;
    }
    assert.match(out, /rows {6}40 events, 4 users, 6 items/);
    assert.match(out, /split {5}time 0\.5\/0\.25\/0\.25: train 20, valid 10, test 10/);
    assert.match(out, /context fields \(1\)\n {2}hour/);
    const p2 = new Command();
    p2.exitOverride();
    register(p2);
    await assert.rejects(p2.parseAsync(['node', 'kdrec', 'data', 'inspect', dir, '--dataset', `sim:${dir}`]), /either DIR or --dataset/);
});
//# sourceMappingURL=inspect.test.js.map