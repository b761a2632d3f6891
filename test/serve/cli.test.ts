/**
 * The serving commands driven in-process through commander: `index build` on an export (metric
 * enforcement included), `index eval --json` printing exactly one JSON line, and option checks.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tinyExport } from './fixture.js';
import { indexProgram, runIndexCli } from './indexCli.js';

test('kdrec index build saves the index next to the manifest; a wrong metric is refused', async () => {
  const ex = tinyExport({ scoreFn: 'dot' });
  await assert.rejects(
    indexProgram().parseAsync(['node', 'kdrec', 'index', 'build', '--export', ex.dir, '--metric', 'l2sq']),
    /refusing a 'l2sq' index for a model trained with score function 'dot'/,
  );
  const out = await runIndexCli(['index', 'build', '--export', ex.dir]);
  assert.match(out, /built HNSW \(ip, M 16/);
  assert.ok(existsSync(join(ex.dir, 'index.usearch')) && existsSync(join(ex.dir, 'index.json')));
});

test('kdrec index eval --json prints one line with recallAt100, qps and ef', async () => {
  const out = await runIndexCli([
    'index',
    'eval',
    '--synthetic',
    '--items',
    '1500',
    '--dim',
    '8',
    '--queries',
    '20',
    '--json',
  ]);
  const lines = out.trim().split('\n');
  assert.equal(lines.length, 1);
  const j = JSON.parse(lines[0]!);
  assert.deepEqual(Object.keys(j).sort(), ['ef', 'qps', 'recallAt100']);
  // The tuner's ef: a rung of its ladder (usearch searches with max(ef, k), so 100 is the lowest).
  assert.ok([100, 128, 256, 512, 1024, 2048].includes(j.ef), `ef ${j.ef}`);
  assert.ok(j.recallAt100 > 0.5 && j.recallAt100 <= 1);
  await assert.rejects(
    indexProgram().parseAsync(['node', 'kdrec', 'index', 'eval', '--json']),
    /give exactly one of --export DIR or --synthetic/,
  );
});
