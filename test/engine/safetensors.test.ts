import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readSafetensors, type SafetensorsTensor, writeSafetensors } from '../../src/engine/safetensors.js';

const dir = mkdtempSync(join(tmpdir(), 'kdrec-st-'));

function fileWithHeader(name: string, header: string, data: number[]): string {
  const h = Buffer.from(header, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  const p = join(dir, name);
  writeFileSync(p, Buffer.concat([len, h, Buffer.from(data)]));
  return p;
}

test('byte layout: u64 LE header length, space-padded JSON header, raw little-endian data', () => {
  const p = join(dir, 'layout.safetensors');
  writeSafetensors(
    p,
    {
      a: { dtype: 'F32', shape: [2], data: Float32Array.of(1, 2) },
      b: { dtype: 'I32', shape: [1, 1], data: Int32Array.of(7) },
    },
    { k: 'v' },
  );
  const bytes = readFileSync(p);
  const json =
    '{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
    '"b":{"dtype":"I32","shape":[1,1],"data_offsets":[8,12]}}';
  const padded = json + ' '.repeat((8 - (json.length % 8)) % 8);
  const expected = Buffer.concat([
    Buffer.from([padded.length, 0, 0, 0, 0, 0, 0, 0]),
    Buffer.from(padded, 'utf8'),
    Buffer.from([0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40, 0x07, 0x00, 0x00, 0x00]),
  ]);
  assert.equal(padded.length % 8, 0);
  assert.equal(bytes.length, expected.length);
  for (let i = 0; i < expected.length; i++) assert.equal(bytes[i], expected[i], `byte ${i}`);
  // atomic write leaves no temp file behind
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.includes('.tmp-')),
    [],
  );
});

test('round trip of every dtype, with metadata and an empty tensor', () => {
  const p = join(dir, 'rt.safetensors');
  const tensors: Record<string, SafetensorsTensor> = {
    f32: { dtype: 'F32', shape: [2, 3], data: Float32Array.of(1.5, -2, 3e-8, Number.NaN, Infinity, 0) },
    i32: { dtype: 'I32', shape: [3], data: Int32Array.of(-1, 0, 2147483647) },
    f64: { dtype: 'F64', shape: [1], data: Float64Array.of(Math.PI) },
    i64: { dtype: 'I64', shape: [2], data: BigInt64Array.of(-5n, 2n ** 60n) },
    empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
  };
  // SharedArrayBuffer-backed data writes the same as ordinary memory
  const shared = new Float32Array(new SharedArrayBuffer(8));
  shared.set([4, 5]);
  tensors['shared'] = { dtype: 'F32', shape: [2], data: shared };
  writeSafetensors(p, tensors, { step: '12', note: 'héllo' });
  const back = readSafetensors(p);
  assert.deepEqual(back.metadata, { step: '12', note: 'héllo' });
  for (const [k, t] of Object.entries(tensors)) {
    const b = back.tensors[k]!;
    assert.equal(b.dtype, t.dtype, k);
    assert.deepEqual(b.shape, t.shape, k);
    assert.deepEqual([...b.data], [...t.data], k);
  }
});

test('writer rejects a shape/data mismatch and a dtype/array mismatch, naming the tensor', () => {
  const p = join(dir, 'bad.safetensors');
  assert.throws(
    () => writeSafetensors(p, { w: { dtype: 'F32', shape: [3], data: new Float32Array(2) } }),
    /tensor 'w' shape \[3\] needs 3 values, data has 2/,
  );
  assert.throws(
    () => writeSafetensors(p, { w: { dtype: 'I32', shape: [2], data: new Float32Array(2) } }),
    /tensor 'w' is I32 but its data is a Float32Array/,
  );
});

test('reader refuses corrupt files with the file and tensor named', () => {
  const tiny = join(dir, 'tiny.safetensors');
  writeFileSync(tiny, Buffer.from([1, 2, 3]));
  assert.throws(() => readSafetensors(tiny), /tiny\.safetensors: not a safetensors file/);

  const huge = join(dir, 'huge.safetensors');
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(1000n);
  writeFileSync(huge, b);
  assert.throws(() => readSafetensors(huge), /huge\.safetensors: header length 1000 exceeds the file size/);

  const badJson = fileWithHeader('json.safetensors', '{"a": ', []);
  assert.throws(() => readSafetensors(badJson), /json\.safetensors: header is not valid JSON/);

  const dtype = fileWithHeader(
    'dtype.safetensors',
    '{"w":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}',
    [0, 0],
  );
  assert.throws(() => readSafetensors(dtype), /tensor 'w': unsupported dtype "BF16"/);

  const gap = fileWithHeader(
    'gap.safetensors',
    '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}',
    new Array(12).fill(0),
  );
  assert.throws(() => readSafetensors(gap), /tensor 'b': data starts at 8, expected 4/);

  const size = fileWithHeader(
    'size.safetensors',
    '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}',
    [0, 0, 0, 0],
  );
  assert.throws(
    () => readSafetensors(size),
    /tensor 'w': data_offsets \[0, 4\] hold 4 bytes, but F32 \[2\] needs 8/,
  );

  const trunc = fileWithHeader(
    'trunc.safetensors',
    '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
    [0, 0, 0, 0],
  );
  assert.throws(
    () => readSafetensors(trunc),
    /trunc\.safetensors: tensors cover 8 data bytes but the file has 4/,
  );

  const meta = fileWithHeader('meta.safetensors', '{"__metadata__":{"n":3}}', []);
  assert.throws(() => readSafetensors(meta), /__metadata__\.n must be a string/);
});

const hasPython = spawnSync('python3', ['-c', 'import json, struct'], { encoding: 'utf8' }).status === 0;

test('an independent Python reader (json + struct, per the format spec) parses our file', {
  skip: hasPython ? false : 'python3 not available',
}, () => {
  const p = join(dir, 'py.safetensors');
  writeSafetensors(
    p,
    { w: { dtype: 'F32', shape: [2, 2], data: Float32Array.of(1, 2, 3, 4.5) } },
    { a: 'b' },
  );
  const script = `
import json, struct, sys
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
assert (8 + n) % 8 == 0
h = json.loads(b[8:8 + n])
s, e = h['w']['data_offsets']
print(json.dumps({'meta': h['__metadata__'], 'shape': h['w']['shape'], 'w': list(struct.unpack('<4f', b[8 + n + s:8 + n + e]))}))
`;
  const r = spawnSync('python3', ['-c', script, p], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { meta: { a: 'b' }, shape: [2, 2], w: [1, 2, 3, 4.5] });
});

const hasSafetensors =
  hasPython && spawnSync('python3', ['-c', 'import safetensors'], { encoding: 'utf8' }).status === 0;

test('Python safetensors opens our file', {
  skip: hasSafetensors ? false : 'python3 safetensors package not installed',
}, () => {
  const p = join(dir, 'lib.safetensors');
  writeSafetensors(p, {
    w: { dtype: 'F32', shape: [3], data: Float32Array.of(1, 2, 3) },
    s: { dtype: 'I64', shape: [1], data: BigInt64Array.of(9n) },
  });
  const script = `
import sys, json
from safetensors import safe_open
with safe_open(sys.argv[1], framework='numpy') as f:
    print(json.dumps({k: f.get_tensor(k).tolist() for k in f.keys()}))
`;
  const r = spawnSync('python3', ['-c', script, p], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { s: [9], w: [1, 2, 3] });
});
