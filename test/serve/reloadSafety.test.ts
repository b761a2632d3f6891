/**
 * Issue 18, "Bad input": a reload to a corrupt or partial export keeps the old model serving and
 * answers with an error naming the broken file — for EVERY file an export can hold (manifest,
 * graphs, weights, item vectors/features/ids, user table, vocabularies, rank keys, the saved HNSW
 * index and its description), each removed and each truncated to half its size.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HnswIndex } from '../../src/serve/annIndex.js';
import { loadExport } from '../../src/serve/bundle.js';
import { buildService, type Service } from '../../src/serve/server.js';
import { tinyExport, userToken } from './fixture.js';

describe('reload to a corrupt or partial export', () => {
  const root = mkdtempSync(join(tmpdir(), 'kdrec-reload-safety-'));
  const good = join(root, 'good');
  let svc: Service;
  let files: string[] = [];
  let baseline = '';
  const request = { user_id: userToken(4), k: 5 };

  const recommend = async () => {
    const r = await svc.app.inject({ method: 'POST', url: '/recommend', payload: request });
    assert.equal(r.statusCode, 200, r.body);
    const j = r.json();
    return JSON.stringify({ export: j.export, items: j.items, stages: j.stages });
  };

  before(async () => {
    // Every optional part present: pre-ranker, ranker (rank graph and window keys), saved HNSW index.
    tinyExport({ scoreFn: 'dot', seed: 7, dir: good, ranker: {} });
    const bundle = loadExport(good);
    new HnswIndex(bundle.manifest.dim, bundle.itemVectors, 'dot', { threads: 1 }).save(good, bundle.manifest);
    files = readdirSync(good).sort();
    // Two reloads per export file: more than the default admin budget (60/min) as exports grow.
    svc = await buildService({
      exportRoot: root,
      exportDir: 'good',
      n: 40,
      m: 20,
      k: 5,
      adminRateLimit: null,
    });
    assert.equal(svc.state().indexKind, 'hnsw');
    baseline = await recommend();
  });
  after(async () => {
    await svc.app.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('the export under test holds every kind of file', () => {
    for (const want of [
      /^manifest\.json$/,
      /^weights\.safetensors$/,
      /^user_tower\.graph\.json$/,
      /^item_tower\.graph\.json$/,
      /^prerank\.graph\.json$/,
      /^rank\.graph\.json$/,
      /^rank_keys\.safetensors$/,
      /^item_vectors\.safetensors$/,
      /^item_features\.safetensors$/,
      /^item_ids\.json$/,
      /^user_features\.safetensors$/,
      /^user_ids\.json$/,
      /^vocab\..+\.json$/,
      /^index\.usearch$/,
      /^index\.json$/,
    ]) {
      assert.ok(
        files.some((f) => want.test(f)),
        `no file matching ${want} in ${files.join(', ')}`,
      );
    }
  });

  for (const damage of ['removed', 'truncated'] as const) {
    test(`every file ${damage}: the reload is refused naming the file, the old model keeps serving`, async () => {
      const problems: string[] = [];
      for (const file of files) {
        const name = `${damage}-${file}`;
        const dir = join(root, name);
        cpSync(good, dir, { recursive: true });
        const path = join(dir, file);
        if (damage === 'removed') rmSync(path);
        else truncateSync(path, Math.floor(statSync(path).size / 2));
        const r = await svc.app.inject({ method: 'POST', url: '/admin/reload', payload: { dir: name } });
        const message = (r.json() as { message?: string }).message ?? '';
        if (r.statusCode !== 400) problems.push(`${name}: reload answered ${r.statusCode}: ${r.body}`);
        else if (!message.includes(file))
          problems.push(`${name}: the error does not name ${file}: ${message}`);
        if (!svc.state().dir.endsWith('good')) {
          problems.push(`${name}: now serving ${svc.state().dir}`);
          await svc.reload('good');
        } else if ((await recommend()) !== baseline) problems.push(`${name}: the served answer changed`);
        rmSync(dir, { recursive: true, force: true });
      }
      assert.deepEqual(problems, []);
    });
  }
});
