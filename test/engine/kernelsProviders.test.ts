/**
 * Every kernel of every faster provider that loads here (wasm, native) against the TypeScript
 * provider, on seeded random inputs including ragged sizes (issue 8, "Equivalence"). Providers that
 * are not built on this machine are skipped with the reason (e.g. no OpenBLAS → no native).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  getKernels,
  kernelsInfo,
  loadProvider,
  type ProviderName,
  providerLoadError,
} from '../../src/engine/kernels/index.js';
import { jsKernels } from '../../src/engine/kernels/js.js';
import type { Kernels } from '../../src/engine/kernels/types.js';
import { Rng } from '../../src/engine/rng.js';

function randomArray(rng: Rng, n: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.uniform(lo, hi);
  return out;
}

function randomIds(rng: Rng, n: number, vocab: number, padEvery = 0): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++)
    out[i] = padEvery > 0 && i % padEvery === padEvery - 1 ? -1 : rng.nextU32() % vocab;
  return out;
}

function absArray(a: Float32Array): Float32Array {
  return a.map(Math.abs);
}

/**
 * sgemm tolerance. A float32 sum of K products has rounding error bounded by K·u·Σ|terms| (worst
 * case, Higham, "Accuracy and Stability of Numerical Algorithms", §3.1) and typically √K·u·Σ|terms|,
 * u = 2⁻²⁴ ≈ 6e-8. Providers differ in summation order (blocked, SIMD lanes, FMA), the TypeScript
 * one sums in float64, so each element is checked against 1e-5 · (|α|·(|op(A)|·|op(B)|) + |β·C|):
 * above √K·u for K ≤ 1024 with margin, and far below the O(1) error of any indexing bug.
 */
const SGEMM_RTOL = 1e-5;

function checkSgemm(
  k: Kernels,
  tA: boolean,
  tB: boolean,
  M: number,
  N: number,
  K: number,
  alpha: number,
  beta: number,
) {
  const rng = new Rng(M * 7919 + N * 104729 + K * 31 + (tA ? 1 : 0) + (tB ? 2 : 0));
  const A = randomArray(rng, M * K);
  const B = randomArray(rng, K * N);
  const C0 = randomArray(rng, M * N);
  const want = C0.slice();
  jsKernels.sgemm(tA, tB, M, N, K, alpha, A, B, beta, want);
  const got = beta === 0 ? new Float32Array(M * N).fill(Number.NaN) : C0.slice();
  k.sgemm(tA, tB, M, N, K, alpha, A, B, beta, got);
  const scale = new Float32Array(M * N);
  jsKernels.sgemm(tA, tB, M, N, K, Math.abs(alpha), absArray(A), absArray(B), 0, scale);
  const where = `${k.name} sgemm transA=${tA} transB=${tB} M=${M} N=${N} K=${K} alpha=${alpha} beta=${beta}`;
  for (let i = 0; i < M * N; i++) {
    const tol = SGEMM_RTOL * (scale[i]! + Math.abs(beta * C0[i]!)) + 1e-30;
    const err = Math.abs(got[i]! - want[i]!);
    if (!(err <= tol))
      assert.fail(`${where}: C[${i}] = ${got[i]}, want ${want[i]} (|err| ${err} > tol ${tol})`);
  }
}

function assertClose(got: Float32Array, want: Float32Array, rtol: number, where: string): void {
  assert.equal(got.length, want.length, `${where}: length`);
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i]! - want[i]!);
    if (!(err <= rtol * Math.max(1, Math.abs(want[i]!)))) {
      assert.fail(`${where}: [${i}] = ${got[i]}, want ${want[i]} (|err| ${err})`);
    }
  }
}

const OTHERS: ProviderName[] = ['wasm', 'native'];

for (const name of OTHERS) {
  const k = loadProvider(name);
  const skip = k === null ? `${name} provider not available here: ${providerLoadError(name)}` : false;
  if (skip) console.log(`# skipping ${name} kernel equivalence: ${skip}`);

  test(`${name} sgemm matches js: all transpose cases, ragged and blocked sizes, alpha/beta`, {
    skip,
  }, () => {
    // Sizes: 1s, ragged tiles (M % 4, N % 8 ≠ 0), K across the wasm K-blocks (128), N across its
    // column chunks (64), and dssm-ref-like.
    const shapes: [number, number, number][] = [
      [1, 1, 1],
      [1, 7, 3],
      [5, 1, 9],
      [7, 9, 13],
      [13, 17, 300],
      [33, 64, 257],
      [64, 24, 513],
      [128, 64, 96],
      [9, 130, 70],
    ];
    for (const [M, N, K] of shapes) {
      for (const tA of [false, true]) {
        for (const tB of [false, true]) {
          checkSgemm(k!, tA, tB, M, N, K, 1, 0);
          checkSgemm(k!, tA, tB, M, N, K, 0.7, 0.3);
        }
      }
    }
    checkSgemm(k!, false, false, 6, 10, 8, -1.5, 1);
  });

  test(`${name} sgemm: beta = 0 ignores NaN in C; K = 0 and alpha = 0 only scale C`, { skip }, () => {
    const C = new Float32Array([Number.NaN, 1, 2, Number.NaN]);
    k!.sgemm(false, false, 2, 2, 0, 1, new Float32Array(0), new Float32Array(0), 0, C);
    assert.deepEqual([...C], [0, 0, 0, 0]);
    const D = new Float32Array([1, 2, 3, 4]);
    k!.sgemm(false, false, 2, 2, 1, 0, new Float32Array([5, 6]), new Float32Array([7, 8]), 2, D);
    assert.deepEqual([...D], [2, 4, 6, 8]);
  });

  test(`${name} sgemm uses only the leading M·K, K·N, M·N values of longer arrays`, { skip }, () => {
    const rng = new Rng(99);
    const [M, N, K] = [5, 6, 7];
    const A = randomArray(rng, M * K + 3);
    const B = randomArray(rng, K * N + 5);
    const want = randomArray(rng, M * N + 4);
    const got = want.slice();
    jsKernels.sgemm(false, false, M, N, K, 1, A, B, 0.5, want);
    k!.sgemm(false, false, M, N, K, 1, A, B, 0.5, got);
    assertClose(got.subarray(0, M * N), want.subarray(0, M * N), 1e-5, `${name} oversized arrays`);
    assert.deepEqual(
      [...got.subarray(M * N)],
      [...want.subarray(M * N)],
      'values past M·N must be untouched',
    );
  });

  test(`${name} sgemm rejects arrays shorter than the shapes`, { skip }, () => {
    assert.throws(
      () =>
        k!.sgemm(false, false, 3, 2, 2, 1, new Float32Array(4), new Float32Array(4), 0, new Float32Array(6)),
      /sgemm.*A/,
    );
    assert.throws(
      () =>
        k!.sgemm(false, false, 2, 2, 2, 1, new Float32Array(4), new Float32Array(4), 0, new Float32Array(3)),
      /sgemm.*C/,
    );
  });

  test(`${name} gatherPool and scatterAddRows match js (sum and mean, padding, odd dims)`, { skip }, () => {
    for (const [dim, nBags, bagLen, vocab, padEvery] of [
      [32, 64, 1, 1000, 0],
      [7, 33, 5, 50, 3],
      [1, 9, 4, 5, 2],
      [33, 17, 3, 200, 0],
    ] as const) {
      const rng = new Rng(dim * 1000 + nBags);
      const table = randomArray(rng, vocab * dim);
      const ids = randomIds(rng, nBags * bagLen, vocab, padEvery);
      if (padEvery > 0) ids.fill(-1, 0, bagLen); // one all-padding bag
      for (const mode of [0, 1] as const) {
        const where = `${name} dim=${dim} nBags=${nBags} bagLen=${bagLen} mode=${mode}`;
        const want = new Float32Array(nBags * dim);
        const got = new Float32Array(nBags * dim).fill(Number.NaN);
        jsKernels.gatherPool(table, dim, ids, nBags, bagLen, mode, want);
        k!.gatherPool(table, dim, ids, nBags, bagLen, mode, got);
        assertClose(got, want, 1e-6, `${where} gatherPool`);

        // Compact slots as the engine builds them: first occurrence of an id gets the next slot.
        const slotOf = new Int32Array(ids.length).fill(-1);
        const slotById = new Map<number, number>();
        ids.forEach((id, i) => {
          if (id < 0) return;
          if (!slotById.has(id)) slotById.set(id, slotById.size);
          slotOf[i] = slotById.get(id)!;
        });
        const gOut = randomArray(rng, nBags * dim);
        const base = randomArray(rng, slotById.size * dim);
        const wantG = base.slice();
        const gotG = base.slice();
        jsKernels.scatterAddRows(gOut, dim, ids, slotOf, nBags, bagLen, mode, wantG);
        k!.scatterAddRows(gOut, dim, ids, slotOf, nBags, bagLen, mode, gotG);
        assertClose(gotG, wantG, 1e-6, `${where} scatterAddRows`);
      }
    }
  });

  test(`${name} biasAct and biasActBackward match js (relu and identity, odd sizes, NaN kept)`, {
    skip,
  }, () => {
    for (const [rows, cols] of [
      [1, 1],
      [3, 17],
      [64, 256],
      [7, 33],
    ] as const) {
      const rng = new Rng(rows * 1000 + cols);
      const where = `${name} rows=${rows} cols=${cols}`;
      const bias = randomArray(rng, cols);
      for (const relu of [true, false]) {
        const y0 = randomArray(rng, rows * cols);
        y0[0] = Number.NaN;
        const [yJ, yK] = [y0.slice(), y0.slice()];
        jsKernels.biasAct(yJ, bias, rows, cols, relu);
        k!.biasAct(yK, bias, rows, cols, relu);
        assert.ok(Number.isNaN(yK[0]), `${where} relu=${relu}: NaN must stay NaN`);
        // Both providers do one float32 add and a max: bit-identical.
        assert.deepEqual(yK.subarray(1), yJ.subarray(1), `${where} relu=${relu} biasAct`);

        const gOut = randomArray(rng, rows * cols);
        const gb0 = randomArray(rng, cols);
        const [zJ, zK] = [new Float32Array(rows * cols), new Float32Array(rows * cols).fill(Number.NaN)];
        const [gbJ, gbK] = [gb0.slice(), gb0.slice()];
        yJ[0] = 0;
        jsKernels.biasActBackward(gOut, relu ? yJ : gOut, rows, cols, relu, relu ? zJ : gOut, gbJ);
        k!.biasActBackward(gOut, relu ? yJ : gOut, rows, cols, relu, relu ? zK : gOut, gbK);
        if (relu) assert.deepEqual(zK, zJ, `${where} biasActBackward gZ`);
        assertClose(gbK, gbJ, 1e-5, `${where} relu=${relu} biasActBackward gBias`);
      }
    }
    // The addon checks lengths before touching memory (the TypeScript loops cannot overrun).
    if (name === 'native') {
      assert.throws(
        () => k!.biasAct(new Float32Array(5), new Float32Array(3), 2, 3, true),
        /biasAct.*y/,
        'a y shorter than rows·cols must be rejected',
      );
    }
  });

  test(`${name} copyBlock matches js (write and accumulate, strided windows, rest untouched)`, {
    skip,
  }, () => {
    for (const [rows, cols, sOff, sStride, dOff, dStride] of [
      [1, 1, 0, 1, 0, 1],
      [5, 3, 2, 7, 1, 4],
      [64, 32, 0, 32, 96, 128],
      [9, 13, 4, 17, 0, 13],
    ] as const) {
      const rng = new Rng(rows * 131 + cols);
      const src = randomArray(rng, sOff + (rows - 1) * sStride + cols + 3);
      const dst0 = randomArray(rng, dOff + (rows - 1) * dStride + cols + 2);
      for (const acc of [false, true]) {
        const [dJ, dK] = [dst0.slice(), dst0.slice()];
        jsKernels.copyBlock(src, sOff, sStride, dJ, dOff, dStride, rows, cols, acc);
        k!.copyBlock(src, sOff, sStride, dK, dOff, dStride, rows, cols, acc);
        assert.deepEqual(dK, dJ, `${name} copyBlock rows=${rows} cols=${cols} accumulate=${acc}`);
      }
    }
    if (name === 'native') {
      assert.throws(
        () => k!.copyBlock(new Float32Array(8), 0, 4, new Float32Array(7), 0, 4, 2, 4, false),
        /copyBlock.*dst/,
        'a dst shorter than its last row must be rejected',
      );
    }
  });

  test(`${name} adamRows and adagradRows match js on touched rows only`, { skip }, () => {
    for (const [vocab, dim, nRows, wd] of [
      [100, 32, 40, 0],
      [57, 7, 13, 0.01],
      [3, 1, 2, 0],
    ] as const) {
      const rng = new Rng(vocab + dim);
      const w = randomArray(rng, vocab * dim);
      const m = randomArray(rng, vocab * dim, -0.01, 0.01);
      const v = randomArray(rng, vocab * dim, 0, 1e-3);
      const grad = randomArray(rng, nRows * dim);
      // Distinct rows in a shuffled order.
      const perm = Array.from({ length: vocab }, (_, i) => i);
      for (let i = vocab - 1; i > 0; i--) {
        const j = rng.nextU32() % (i + 1);
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
      }
      const rows = Int32Array.from(perm.slice(0, nRows));
      const t = 3;
      const args = [0.01, 0.9, 0.999, 1e-8, 1 - 0.9 ** t, 1 - 0.999 ** t, wd] as const;
      const [wJ, mJ, vJ] = [w.slice(), m.slice(), v.slice()];
      const [wK, mK, vK] = [w.slice(), m.slice(), v.slice()];
      jsKernels.adamRows(wJ, mJ, vJ, grad, rows, nRows, dim, ...args);
      k!.adamRows(wK, mK, vK, grad, rows, nRows, dim, ...args);
      const where = `${name} vocab=${vocab} dim=${dim} nRows=${nRows}`;
      // Float32 arithmetic vs the float64 intermediates of the TypeScript loop: a few ulps.
      assertClose(wK, wJ, 1e-5, `${where} adamRows w`);
      assertClose(mK, mJ, 1e-5, `${where} adamRows m`);
      assertClose(vK, vJ, 1e-5, `${where} adamRows v`);
      const untouched = perm.slice(nRows);
      for (const r of untouched)
        assert.equal(wK[r * dim], w[r * dim], `${where}: untouched row ${r} changed`);

      const acc = randomArray(rng, vocab * dim, 0, 1);
      const [wJ2, aJ] = [w.slice(), acc.slice()];
      const [wK2, aK] = [w.slice(), acc.slice()];
      jsKernels.adagradRows(wJ2, aJ, grad, rows, nRows, dim, 0.05, 1e-10);
      k!.adagradRows(wK2, aK, grad, rows, nRows, dim, 0.05, 1e-10);
      assertClose(wK2, wJ2, 1e-5, `${where} adagradRows w`);
      assertClose(aK, aJ, 1e-5, `${where} adagradRows acc`);
    }
  });
}

test('native kernels reject ids and rows outside the table instead of reading out of bounds', {
  skip:
    loadProvider('native') === null ? `native provider not available: ${providerLoadError('native')}` : false,
}, () => {
  const k = loadProvider('native')!;
  const table = new Float32Array(4 * 2);
  assert.throws(
    () => k.gatherPool(table, 2, new Int32Array([1, 4]), 2, 1, 0, new Float32Array(4)),
    /gatherPool: ids\[1\] = 4 is outside the table \(4 rows\)/,
  );
  assert.throws(
    () =>
      k.adamRows(
        table,
        table.slice(),
        table.slice(),
        new Float32Array(2),
        new Int32Array([9]),
        1,
        2,
        0.1,
        0.9,
        0.99,
        1e-8,
        0.1,
        0.01,
        0,
      ),
    /adamRows: rows\[0\] = 9 is outside the table/,
  );
});

/** Runs getKernels() in a fresh process with KDREC_KERNELS set; returns the provider name and stderr. */
function selectInChild(
  value: string,
  extraEnv: Record<string, string> = {},
): { name: string; stderr: string; status: number | null } {
  const indexUrl = new URL('../../src/engine/kernels/index.js', import.meta.url).href;
  const script = `const m = await import(${JSON.stringify(indexUrl)}); process.stdout.write(m.getKernels().name);`;
  const r = spawnSync(process.execPath, [...process.execArgv, '--input-type=module', '-e', script], {
    env: { ...process.env, ...extraEnv, KDREC_KERNELS: value },
    encoding: 'utf8',
    cwd: fileURLToPath(new URL('.', import.meta.url)),
  });
  return { name: r.stdout.trim(), stderr: r.stderr, status: r.status };
}

test('KDREC_KERNELS selects a provider; an unknown or unloadable one warns once and falls back to js', () => {
  const js = selectInChild('js');
  assert.equal(js.name, 'js');
  assert.equal(js.stderr, '');
  const bogus = selectInChild('bogus');
  assert.equal(bogus.status, 0);
  assert.equal(bogus.name, 'js');
  const lines = bogus.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one warning line, got: ${bogus.stderr}`);
  assert.match(lines[0]!, /KDREC_KERNELS='bogus' is not one of js\|wasm\|native/);
  for (const name of OTHERS) {
    const r = selectInChild(name);
    assert.equal(r.status, 0);
    if (loadProvider(name) !== null) {
      assert.equal(r.name, name);
      assert.equal(r.stderr, '');
    } else {
      assert.equal(r.name, 'js');
      assert.equal(r.stderr.trim().split('\n').length, 1);
      assert.match(r.stderr, new RegExp(`KDREC_KERNELS=${name} failed to load`));
    }
  }
  // Auto mode: the fastest provider that loads, silently.
  const auto = selectInChild('');
  assert.equal(auto.status, 0);
  assert.equal(auto.name, loadProvider('native') ? 'native' : loadProvider('wasm') ? 'wasm' : 'js');
  assert.equal(auto.stderr, '');
  // A native provider that is built but fails to initialise also degrades to one line, not a crash.
  const broken = selectInChild('native', { KDREC_BLAS_THREADS: 'zero' });
  assert.equal(broken.status, 0);
  assert.equal(broken.name, 'js');
  assert.equal(broken.stderr.trim().split('\n').length, 1, broken.stderr);
  assert.match(broken.stderr, /KDREC_KERNELS=native failed to load/);
  // …and in auto mode a built-but-broken native provider warns once and the next provider is used.
  if (loadProvider('native') !== null) {
    const autoBroken = selectInChild('', { KDREC_BLAS_THREADS: 'zero' });
    assert.equal(autoBroken.status, 0);
    assert.equal(autoBroken.name, loadProvider('wasm') ? 'wasm' : 'js');
    assert.equal(autoBroken.stderr.trim().split('\n').length, 1, autoBroken.stderr);
    assert.match(autoBroken.stderr, /native kernels are built but failed to load/);
  }
});

test("kernelsInfo (kdrec doctor) names the active provider, each provider's status, BLAS and CPU features", () => {
  const info = kernelsInfo();
  assert.equal(info.name, getKernels().name);
  assert.ok(info.selection.length > 0);
  assert.equal(info.providers.js, 'ok');
  for (const name of OTHERS) {
    assert.equal(info.providers[name], loadProvider(name) !== null ? 'ok' : providerLoadError(name));
  }
  if (info.name === 'native') {
    assert.match(info.blas ?? '', /OpenBLAS/);
    assert.ok(Number.isInteger(info.blasThreads) && info.blasThreads! >= 1);
  } else {
    assert.equal(info.blas, undefined);
  }
  if (process.platform === 'linux' && process.arch === 'x64') assert.ok(info.cpuFeatures.includes('sse4_2'));
});
