import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { parseDatasetSpec } from '../../src/data/loaders/index.js';

test('parseDatasetSpec: KIND:PATH for every kind, clear errors otherwise', () => {
  assert.deepEqual(parseDatasetSpec('movielens-100k:/d/ml'), { kind: 'movielens-100k', path: '/d/ml' });
  assert.deepEqual(parseDatasetSpec('sim:rel/dir'), { kind: 'sim', path: resolve('rel/dir') });
  assert.deepEqual(parseDatasetSpec('sim'), { kind: 'sim', path: undefined });
  assert.equal(parseDatasetSpec('kuairand:C:/x.csv').path, resolve('C:/x.csv'));
  assert.throws(
    () => parseDatasetSpec('ml:/x'),
    /unknown kind 'ml'; expected KIND:PATH with KIND one of sim, movielens-100k, ali-ccp, kuairand/,
  );
  assert.throws(() => parseDatasetSpec('ali-ccp'), /missing path; expected ali-ccp:PATH/);
});
