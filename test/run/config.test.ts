import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, formatPath, loadConfig, parseConfig } from '../../src/run/config.js';

const base = {
  dataset: { spec: 'sim:/tmp/none' },
  mode: 'joint',
  teacher: { type: 'ranking-dnn' },
  student: { type: 'two-tower' },
  distill: [{ pred: 'ctr', target: 'ctr', loss: 'bce_soft' }],
  steps: 10,
};

function problems(raw: unknown): string[] {
  try {
    parseConfig(raw, 'x.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail('config was accepted');
}

test('a valid config gets its defaults', () => {
  const c = parseConfig(base);
  assert.equal(c.batchSize, 512);
  assert.equal(c.distill[0]!.temperature, 1);
  assert.equal(c.distill[0]!.weight, 1);
  assert.deepEqual(c.lambda, { kind: 'constant', value: 1 });
  assert.equal(c.objective, 'hard_plus_kd');
  assert.equal(c.selection.allowBeforeWarmup, false);
});

test('formatPath renders list indices in brackets', () => {
  assert.equal(formatPath(['distill', 1, 'temperature']), 'distill[1].temperature');
  assert.equal(formatPath([]), '(config)');
});

test('every error is printed with its path', () => {
  const p = problems({
    ...base,
    distill: [
      { pred: 'ctr', target: 'ctr', loss: 'kl' },
      { pred: 'ctr', target: 'ctr', loss: 'kl', temperature: 0 },
      { pred: 'ctr', target: 'ctr', loss: 'huber' },
    ],
    batchSize: -3,
    lambda: { kind: 'linear', value: 1, startStep: 50, endStep: 10 },
    optimizer: { lr: 'fast' },
    bogus: 1,
  });
  assert.ok(p.includes('distill[1].temperature must be > 0'), p.join('\n'));
  assert.ok(
    p.some((m) => m.startsWith("distill[2].loss must be one of 'bce_soft', 'kl', 'mse'")),
    p.join('\n'),
  );
  assert.ok(p.includes('batchSize must be >= 1'), p.join('\n'));
  assert.ok(
    p.some((m) => m.startsWith('optimizer.lr must be number')),
    p.join('\n'),
  );
  assert.ok(
    p.some((m) => m.startsWith("(config) has unknown key(s) 'bogus'")),
    p.join('\n'),
  );
});

test('cross-field rules name the offending field', () => {
  assert.ok(
    problems({ ...base, steps: undefined }).includes('steps or epochs must be given (how long to train)'),
  );
  assert.ok(problems({ ...base, teacher: undefined }).includes("teacher is required for mode 'joint'"));
  const twoStage = problems({ ...base, mode: 'two-stage' });
  assert.ok(
    twoStage.some((m) => m.startsWith("distill[0].target must be 'column:NAME'")),
    twoStage.join('\n'),
  );
  const hint = problems({ ...base, hint: { student: 'mlp.0', teacher: 'mlp.0' } });
  assert.ok(
    hint.some((m) => m.startsWith('hint is only for a prerank-mlp student') && m.includes('dot product')),
  );
  const lin = problems({ ...base, lambda: { kind: 'linear', value: 1, startStep: 50, endStep: 10 } });
  assert.ok(lin.includes('lambda.endStep must be > lambda.startStep (50)'), lin.join('\n'));
  const badKind = problems({ ...base, lambda: { kind: 'cosine', value: 1 } });
  assert.ok(
    badKind.some((m) => m.startsWith("lambda.kind must be one of 'constant'")),
    badKind.join('\n'),
  );
  const pfd = problems({ ...base, mode: 'pfd' });
  assert.ok(
    pfd.some((m) => m.startsWith('lambda must start with a warm-up in mode pfd')),
    pfd.join('\n'),
  );
  const dmtl = problems({ ...base, mode: 'dmtl' });
  assert.ok(dmtl.includes("teacher.type must be 'mmoe-esmm' in mode dmtl"), dmtl.join('\n'));
});

test('loadConfig reads YAML and reports the file name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdrec-config-'));
  const good = join(dir, 'good.yaml');
  writeFileSync(
    good,
    'mode: student\nstudent: { type: two-tower }\ndataset: { spec: "sim:/tmp/x" }\nepochs: 1\n',
  );
  assert.equal(loadConfig(good).mode, 'student');
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'mode: student\nstudent: { type: tower }\ndataset: { spec: nope }\nepochs: 1\n');
  assert.throws(
    () => loadConfig(bad),
    (err: Error) =>
      err.message.startsWith(`${bad}: 2 problem(s)`) &&
      err.message.includes('dataset.spec must look like KIND:PATH') &&
      err.message.includes("student.type must be one of 'ranking-dnn'"),
  );
  assert.throws(() => loadConfig(join(dir, 'x.toml')), /cannot read config/);
});

test('every shipped training config in examples/ is valid (experiment matrices are checked elsewhere)', () => {
  // Compiled tests run from dist/test/train, sources from test/train: the repo root is above either.
  const root = fileURLToPath(
    new URL(import.meta.url.endsWith('.ts') ? '../../' : '../../../', import.meta.url),
  );
  const dir = join(root, 'examples');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  let checked = 0;
  for (const f of files) {
    const path = join(dir, f);
    if (/^students:/m.test(readFileSync(path, 'utf8'))) continue;
    assert.doesNotThrow(() => loadConfig(path), `examples/${f}`);
    checked++;
  }
  assert.ok(checked >= 10, `only ${checked} training configs found in ${dir}`);
});

test('sharding: replicated by default, row for all tables, or a record per table', () => {
  assert.equal(parseConfig(base).sharding, 'replicated');
  assert.equal(parseConfig({ ...base, sharding: 'row' }).sharding, 'row');
  assert.deepEqual(parseConfig({ ...base, sharding: { 'emb.item_id': 'row' } }).sharding, {
    'emb.item_id': 'row',
  });
  assert.ok(problems({ ...base, sharding: 'rows' }).some((p) => p.includes('sharding')));
  assert.ok(problems({ ...base, sharding: { 'emb.item_id': 'column' } }).some((p) => p.includes('sharding')));
});
