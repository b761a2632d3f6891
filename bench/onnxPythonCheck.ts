/**
 * The README's Python example (examples/onnx_top10.py) against `kdrec serve` (issue 17 item 4).
 *
 * For a dot and a cosine synthetic export (./onnxWorld.ts) converted with `--triton`:
 *  1. /usr/bin/python3 bench/onnx_check.py: onnx.checker (full_check) and strict shape inference on
 *     every .onnx file, and the .npy files the example reads load with the declared dtypes/shapes;
 *  2. `kdrec serve --index exact --n 10 --m 10 --k 10` is started as a child process, and for 5
 *     known users POST /recommend {user_id} gives the top 10 with their recall scores;
 *  3. the example's computation — inputs read from the same user_inputs/*.npy files, the user tower
 *     run by ONNX Runtime, dot products with item_vectors.npy, a stable argsort — is repeated with
 *     onnxruntime-node, and its top 10 must equal serve's (ids in order, scores within 1e-5);
 *  4. examples/onnx_top10.py itself is run by /usr/bin/python3 and compared the same way: with
 *     Python's onnxruntime when it is importable; when it is not (not packaged for Debian, PyPI
 *     unreachable here), with bench/ort_shim on PYTHONPATH, a stand-in whose InferenceSession.run
 *     forwards to onnxruntime-node — every other line of the example is then run by Python as
 *     written. The report says which (`pythonExampleBackend`).
 *
 * First, onnx_check.py runs on the ONNX export of every model type `kdrec train` produces (the
 * test fixture's small models: two-tower + prerank-mlp + DCN-v2 parallel, fm + fm pre-ranker +
 * mmoe-esmm, DCN-v2 stacked low-rank), Triton copies included.
 *
 *   npm run build && node dist/bench/onnxPythonCheck.js
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { type OnnxManifest, writeOnnxExport } from '../src/serve/onnx/onnxExport.js';
import { tinyExport } from '../test/serve/fixture.js';
import { syntheticExport } from './onnxWorld.js';

const PYTHON = '/usr/bin/python3';
const TOL = 1e-5;

/** A .npy v1/v2 file (little-endian float32 or int64, C order), as the example's np.load reads it. */
function readNpy(path: string): { data: Float32Array | BigInt64Array; shape: number[] } {
  const buf = readFileSync(path);
  if (buf.readUInt32BE(0) !== 0x934e554d) throw new Error(`${path}: not a .npy file`);
  const major = buf[6]!;
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.subarray(start, start + hlen).toString('latin1');
  const descr = /'descr': '([^']+)'/.exec(header)?.[1];
  const shape = (/'shape': \(([^)]*)\)/.exec(header)?.[1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (/'fortran_order': True/.test(header)) throw new Error(`${path}: Fortran order`);
  const raw = buf.subarray(start + hlen);
  const copy = new Uint8Array(raw).buffer;
  if (descr === '<f4') return { data: new Float32Array(copy), shape };
  if (descr === '<i8') return { data: new BigInt64Array(copy), shape };
  throw new Error(`${path}: dtype ${descr}`);
}

/** The example's top 10 with onnxruntime-node in place of Python's onnxruntime. */
async function exampleTop10(d: string, m: OnnxManifest, user: string): Promise<[string, number][]> {
  const items = JSON.parse(readFileSync(join(d, m.files.itemIds), 'utf8')) as string[];
  const row = (JSON.parse(readFileSync(join(d, m.files.userIds!), 'utf8')) as string[]).indexOf(user);
  const V = readNpy(join(d, m.files.itemVectors));
  const tower = m.models.user_tower!;
  const feeds: Record<string, ort.Tensor> = {};
  for (const i of tower.inputs) {
    const a = readNpy(join(d, m.files.userInputs!, `${i.name}.npy`));
    const per = a.shape.slice(1).reduce((x, y) => x * y, 1);
    const slice = a.data.subarray(row * per, (row + 1) * per);
    feeds[i.name] = new ort.Tensor(i.type, slice, [1, ...a.shape.slice(1)]);
  }
  const sess = await ort.InferenceSession.create(join(d, tower.file), { intraOpNumThreads: 1 });
  const u = (await sess.run(feeds))[tower.outputs[0]!.name]!.data as Float32Array;
  await sess.release();
  const [N, D] = V.shape as [number, number];
  const vec = V.data as Float32Array;
  const scores = new Float32Array(N);
  for (let r = 0; r < N; r++) {
    let s = 0;
    for (let c = 0; c < D; c++) s += vec[r * D + c]! * u[c]!;
    scores[r] = s;
  }
  if (m.files.itemLive) {
    const live = readNpy(join(d, m.files.itemLive)).data as BigInt64Array;
    for (let r = 0; r < N; r++) if (live[r] === 0n) scores[r] = Number.NEGATIVE_INFINITY;
  }
  const order = Array.from({ length: N }, (_, r) => r).sort((a, b) => scores[b]! - scores[a]! || a - b);
  return order.slice(0, 10).map((r) => [items[r]!, scores[r]!]);
}

async function startServe(dir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      'dist/src/cli/main.js',
      'serve',
      '--export',
      dir,
      '--port',
      '0',
      '--index',
      'exact',
      '--n',
      '10',
      '--m',
      '10',
      '--k',
      '10',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      const m = / on (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`kdrec serve exited (${code}): ${err}`)));
  });
  return { child, url };
}

function compare(what: string, got: [string, number][], want: [string, number][]): number {
  let worst = 0;
  if (got.length !== want.length) throw new Error(`${what}: ${got.length} items vs ${want.length}`);
  got.forEach(([id, s], i) => {
    if (id !== want[i]![0]) throw new Error(`${what}: rank ${i + 1} is ${id}, serve has ${want[i]![0]}`);
    worst = Math.max(worst, Math.abs(s - want[i]![1]));
  });
  if (worst > TOL) throw new Error(`${what}: scores differ by ${worst} > ${TOL}`);
  return worst;
}

function onnxCheck(dir: string): { checked: { file: string }[]; onnxruntime: string | null; onnx: string } {
  const py = spawnSync(PYTHON, ['bench/onnx_check.py', dir], { encoding: 'utf8' });
  if (py.status !== 0) throw new Error(`onnx_check.py ${dir} failed:\n${py.stderr}`);
  return JSON.parse(py.stdout);
}

for (const opts of [
  { scoreFn: 'cosine', ranker: { type: 'ranking-dnn', structure: 'parallel' } },
  { scoreFn: 'dot', recall: 'fm', prerank: 'fm', ranker: { type: 'mmoe-esmm' } },
  { scoreFn: 'dot', ranker: { type: 'ranking-dnn', structure: 'stacked', crossRank: 3 } },
] as const) {
  const ex = tinyExport(opts);
  writeOnnxExport(ex.dir, { triton: true });
  const check = onnxCheck(join(ex.dir, 'onnx'));
  console.log(
    JSON.stringify({
      bench: 'onnx-checker',
      models: `${ex.recall.kind} + ${ex.prerank.kind} + ${ex.ranker!.kind}${'structure' in opts.ranker ? ` ${opts.ranker.structure}` : ''}`,
      passed: check.checked.map((c) => c.file),
    }),
  );
  rmSync(ex.dir, { recursive: true, force: true });
}

for (const scoreFn of ['dot', 'cosine'] as const) {
  const ex = syntheticExport({ userState: false, scoreFn, items: 5000, users: 200, seed: 7 });
  const onnxDir = join(ex.dir, 'onnx');
  const m = writeOnnxExport(ex.dir, { triton: true });
  const check = onnxCheck(onnxDir);
  const { child, url } = await startServe(ex.dir);
  try {
    const users = ['u1', 'u17', 'u42', 'u100', 'u200'];
    let worstOrt = 0;
    let worstPy = 0;
    for (const user of users) {
      const res = await fetch(`${url}/recommend`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user_id: user }),
      });
      const body = (await res.json()) as { items: { id: string; scores: { recall: number } }[] };
      const serve = body.items.map((i) => [i.id, i.scores.recall] as [string, number]);
      worstOrt = Math.max(
        worstOrt,
        compare(`${scoreFn} ${user} (ORT-node)`, await exampleTop10(onnxDir, m, user), serve),
      );
      if (check.onnxruntime !== null) {
        const run = spawnSync(PYTHON, ['examples/onnx_top10.py', onnxDir, user], { encoding: 'utf8' });
        if (run.status !== 0) throw new Error(`onnx_top10.py failed:\n${run.stderr}`);
        worstPy = Math.max(
          worstPy ?? 0,
          compare(`${scoreFn} ${user} (python)`, JSON.parse(run.stdout), serve),
        );
      }
    }
    console.log(
      JSON.stringify({
        bench: 'onnx-python-check',
        scoreFn,
        onnxCheckerPassed: check.checked.length,
        pythonOnnx: check.onnx,
        pythonOnnxruntime: check.onnxruntime,
        users: users.length,
        top10EqualsServe: true,
        maxScoreDiffOrtNode: worstOrt,
        maxScoreDiffPythonExample: worstPy,
        pythonExampleBackend:
          check.onnxruntime !== null
            ? `onnxruntime ${check.onnxruntime}`
            : 'bench/ort_shim → onnxruntime-node',
      }),
    );
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(ex.dir, { recursive: true, force: true });
  }
}
