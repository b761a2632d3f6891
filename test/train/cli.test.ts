/**
 * The `kdrec train` / `kdrec teacher` commands, driven in-process through commander: config errors
 * come out with their paths, and the command wiring rejects bad option combinations.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Command } from 'commander';
import * as teacherCmd from '../../src/cli/commands/teacher.js';
import * as trainCmd from '../../src/cli/commands/train.js';

function program(): Command {
  const p = new Command();
  p.exitOverride();
  p.configureOutput({ writeOut: () => {}, writeErr: () => {} });
  trainCmd.register(p);
  teacherCmd.register(p);
  return p;
}

const dir = mkdtempSync(join(tmpdir(), 'kdrec-cli-'));

test('kdrec train prints every config problem with its path', async () => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(
    bad,
    [
      'mode: joint',
      'dataset: { spec: nope }',
      'teacher: { type: ranking-dnn, hidden: [0] }',
      'student: { type: two-tower }',
      'distill:',
      '  - { pred: ctr, target: ctr, loss: kl }',
      '  - { pred: ctr, target: ctr, loss: kl, temperature: -1 }',
      'steps: 10',
    ].join('\n'),
  );
  await assert.rejects(program().parseAsync(['node', 'kdrec', 'train', '--config', bad]), (err: Error) => {
    assert.match(err.message, /bad\.yaml: 3 problem\(s\) in the config/);
    assert.match(err.message, /dataset\.spec must look like KIND:PATH/);
    assert.match(err.message, /teacher\.hidden\[0\] must be > 0/);
    assert.match(err.message, /distill\[1\]\.temperature must be > 0/);
    return true;
  });
});

test('--resume needs --run-dir; teacher score checks --samples', async () => {
  await assert.rejects(
    program().parseAsync(['node', 'kdrec', 'train', '--config', 'x.yaml', '--resume']),
    /--resume needs --run-dir/,
  );
  await assert.rejects(
    program().parseAsync([
      'node',
      'kdrec',
      'teacher',
      'score',
      '--run',
      dir,
      '--samples',
      'all',
      '--out',
      'x',
    ]),
    /option --samples: 'all' is not one of recall, exposure/,
  );
  await assert.rejects(
    program().parseAsync(['node', 'kdrec', 'teacher', 'score', '--run', dir, '--out', 'x']),
    /is not a kdrec run directory: config\.json is missing/,
  );
});

test('--threads must be an integer >= 1, for kdrec train and kdrec teacher train alike', async () => {
  for (const cmd of [['train'], ['teacher', 'train']]) {
    for (const bad of ['0', '1.5', 'two', '']) {
      await assert.rejects(
        program().parseAsync(['node', 'kdrec', ...cmd, '--config', 'x.yaml', '--threads', bad]),
        new RegExp(`--threads: expected an integer >= 1, got '${bad}'`),
      );
    }
  }
});
