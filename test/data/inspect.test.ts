import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { inspectText, parseSplitOption, register } from '../../src/cli/commands/data.js';
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
  assert.deepEqual(
    s.groups.user.map((f) => f.name),
    ['user_id', 'age_bucket', 'gender', 'region'],
  );
  assert.deepEqual(
    s.groups.item.map((f) => f.name),
    ['item_id', 'category', 'shop'],
  );
  assert.deepEqual(
    s.groups.privileged.map((f) => f.name),
    ['user_category_clicks', 'user_shop_clicks'],
  );
  const item = s.groups.item.find((f) => f.name === 'item_id')!;
  assert.equal(item.oov, ds.stats.coverage.item_id!.oov);
  assert.ok(item.oov! > 0);
  assert.equal(item.tableSize, ds.vocabs.item_id!.size);
  assert.equal(item.distinct, ds.vocabs.item_id!.size - 1, 'every train item is seen');
  assert.ok(s.testUsers >= 1 && s.coldTestUsers <= s.testUsers);
  const text = formatSummary(s);
  assert.match(text, /test users \d+, of which \d+ have no train event/);
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

test('`kdrec data inspect DIR` text; DIR and --dataset are exclusive; the command is registered', async () => {
  const dir = tempDir('inspectcli');
  writeSimFixture(dir, 40, 2);
  const out = await inspectText(dir, { split: 'time:0.5,0.25' });
  assert.match(out, /rows {6}40 events, 4 users, 6 items/);
  assert.match(out, /split {5}time 0\.5\/0\.25\/0\.25: train 20, valid 10, test 10/);
  assert.match(out, /context fields \(1\)\n {2}hour/);
  const json = JSON.parse(await inspectText(undefined, { dataset: `sim:${dir}`, split: '', json: true }));
  assert.equal(json.rows, 40);
  await assert.rejects(inspectText(dir, { dataset: `sim:${dir}`, split: '' }), /either DIR or --dataset/);
  await assert.rejects(
    inspectText(dir, { split: '', window: '-1' }),
    /--window must be a positive number of seconds/,
  );
  const program = new Command();
  register(program);
  const inspect = program.commands
    .find((c) => c.name() === 'data')
    ?.commands.find((c) => c.name() === 'inspect');
  assert.ok(inspect, 'kdrec data inspect is registered');
  assert.deepEqual(
    inspect.options.map((o) => o.long),
    ['--dataset', '--split', '--window', '--skip-bad-rows', '--json'],
  );
});
