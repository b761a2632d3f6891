/**
 * Teacher–student consistency over the same candidate set: how closely the student reproduces the
 * teacher's ranking, which is what rank distillation for recall/pre-ranking optimises (Tang & Wang,
 * "Ranking Distillation", KDD 2018).
 * - overlap@K: |top-K(teacher) ∩ top-K(student)| / K.
 * - Kendall tau-b (Kendall 1945, with ties), computed in O(n log n) by Knight's algorithm (Knight,
 *   JASA 1966): sort by (x, y), count x-ties and joint ties, count discordant pairs as the
 *   inversions of y by merge sort, then count y-ties.
 * - Spearman's rho: Pearson correlation of average ranks (ties share the mean rank).
 * - teacher mass captured@K: the share of the teacher's probability mass over the candidates that
 *   falls in the student's top K. The teacher's scores are turned into a distribution either by a
 *   softmax with temperature (`teacher: 'logits'`, default, T = 1) or by normalising given
 *   non-negative probabilities (`teacher: 'probabilities'`, e.g. predicted CTRs). 1 means the
 *   student's top K holds everything the teacher values; the teacher's own top K is the ceiling.
 */

import { type ScoreVector, TopKSelector } from '../../engine/topK.js';
import { averageRanks, checkFinite, checkSameLength, type NumberArray } from './ranks.js';

/** |top-K(a) ∩ top-K(b)| / min(K, n) for two score vectors over the same candidates. */
export function overlapAtK(teacherScores: ScoreVector, studentScores: ScoreVector, k: number): number {
  checkSameLength('overlapAtK', 'teacherScores', teacherScores, 'studentScores', studentScores);
  const sel = new TopKSelector(Math.max(1, Math.min(k, teacherScores.length)));
  const marks = { stamp: new Int32Array(teacherScores.length), current: 0 };
  return overlapOfRange(teacherScores, studentScores, 0, teacherScores.length, k, sel, marks);
}

/** Scratch marks: stamp[i] === current means "in the teacher's top K" for the current call (no clearing). */
interface Marks {
  stamp: Int32Array;
  current: number;
}

function overlapOfRange(
  t: ScoreVector,
  s: ScoreVector,
  offset: number,
  length: number,
  k: number,
  sel: TopKSelector,
  marks: Marks,
): number {
  if (!Number.isInteger(k) || k < 1) throw new Error(`overlapAtK: k must be a positive integer, got ${k}`);
  if (length === 0) throw new Error('overlapAtK: empty candidate list');
  const kk = Math.min(k, length);
  const stamp = ++marks.current;
  sel.select(t, kk, offset, length);
  for (let r = 0; r < kk; r++) marks.stamp[sel.indices[r]!] = stamp;
  sel.select(s, kk, offset, length);
  let common = 0;
  for (let r = 0; r < kk; r++) if (marks.stamp[sel.indices[r]!] === stamp) common++;
  return common / kk;
}

/**
 * Kendall's tau-b between x and y, O(n log n). NaN when either vector is constant (tau-b is
 * undefined then).
 */
export function kendallTau(x: NumberArray, y: NumberArray): number {
  checkSameLength('kendallTau', 'x', x, 'y', y);
  checkFinite('kendallTau', 'x', x);
  checkFinite('kendallTau', 'y', y);
  const n = x.length;
  if (n < 2) return Number.NaN;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => x[a]! - x[b]! || y[a]! - y[b]!);
  const n0 = (n * (n - 1)) / 2;
  let n1 = 0; // pairs tied in x
  let n3 = 0; // pairs tied in both
  let i = 0;
  while (i < n) {
    let j = i + 1;
    while (j < n && x[order[j]!] === x[order[i]!]) j++;
    n1 += ((j - i) * (j - i - 1)) / 2;
    // Within an x-tie group y is sorted, so joint ties are consecutive.
    let a = i;
    while (a < j) {
      let b = a + 1;
      while (b < j && y[order[b]!] === y[order[a]!]) b++;
      n3 += ((b - a) * (b - a - 1)) / 2;
      a = b;
    }
    i = j;
  }
  const ys = new Float64Array(n);
  for (let t = 0; t < n; t++) ys[t] = y[order[t]!]!;
  const swaps = countInversions(ys, new Float64Array(n));
  let n2 = 0; // pairs tied in y (ys is now sorted)
  i = 0;
  while (i < n) {
    let j = i + 1;
    while (j < n && ys[j] === ys[i]) j++;
    n2 += ((j - i) * (j - i - 1)) / 2;
    i = j;
  }
  const denom = Math.sqrt((n0 - n1) * (n0 - n2));
  if (denom === 0) return Number.NaN;
  return (n0 - n1 - n2 + n3 - 2 * swaps) / denom;
}

/** Sorts `a` ascending by bottom-up merge sort and returns the number of strict inversions. */
function countInversions(a: Float64Array, buf: Float64Array): number {
  const n = a.length;
  let swaps = 0;
  let src = a;
  let dst = buf;
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let o = lo;
      while (i < mid && j < hi) {
        if (src[i]! <= src[j]!) dst[o++] = src[i++]!;
        else {
          swaps += mid - i;
          dst[o++] = src[j++]!;
        }
      }
      while (i < mid) dst[o++] = src[i++]!;
      while (j < hi) dst[o++] = src[j++]!;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  if (src !== a) a.set(src);
  return swaps;
}

/** Spearman's rho (Pearson correlation of average ranks). NaN when either vector is constant. */
export function spearman(x: NumberArray, y: NumberArray): number {
  checkSameLength('spearman', 'x', x, 'y', y);
  checkFinite('spearman', 'x', x);
  checkFinite('spearman', 'y', y);
  return pearson(averageRanks(x), averageRanks(y));
}

function pearson(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  if (n < 2) return Number.NaN;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 || sbb === 0) return Number.NaN;
  return sab / Math.sqrt(saa * sbb);
}

export interface TeacherDistribution {
  /** 'logits': softmax(teacher / temperature) (default). 'probabilities': normalise given values ≥ 0. */
  teacher?: 'logits' | 'probabilities';
  /** Softmax temperature for 'logits' (default 1). */
  temperature?: number;
}

/** Share of the teacher's probability mass over the candidates captured by the student's top K. */
export function teacherMassCaptured(
  teacherScores: ScoreVector,
  studentScores: ScoreVector,
  k: number,
  options: TeacherDistribution = {},
): number {
  checkSameLength('teacherMassCaptured', 'teacherScores', teacherScores, 'studentScores', studentScores);
  const sel = new TopKSelector(Math.max(1, Math.min(k, teacherScores.length)));
  const p = new Float64Array(teacherScores.length);
  return massOfRange(teacherScores, studentScores, 0, teacherScores.length, k, options, sel, p);
}

function massOfRange(
  t: ScoreVector,
  s: ScoreVector,
  offset: number,
  length: number,
  k: number,
  options: TeacherDistribution,
  sel: TopKSelector,
  p: Float64Array,
): number {
  if (!Number.isInteger(k) || k < 1)
    throw new Error(`teacherMassCaptured: k must be a positive integer, got ${k}`);
  if (length === 0) throw new Error('teacherMassCaptured: empty candidate list');
  teacherDistribution(t, offset, length, options, p);
  const kk = Math.min(k, length);
  sel.select(s, kk, offset, length);
  let mass = 0;
  for (let r = 0; r < kk; r++) mass += p[sel.indices[r]!]!;
  return mass;
}

/** Writes the teacher's normalised distribution over t[offset .. offset+length) into p[0 .. length). */
function teacherDistribution(
  t: ScoreVector,
  offset: number,
  length: number,
  options: TeacherDistribution,
  p: Float64Array,
): void {
  const mode = options.teacher ?? 'logits';
  let sum = 0;
  if (mode === 'logits') {
    const temperature = options.temperature ?? 1;
    if (!(temperature > 0))
      throw new Error(`teacherMassCaptured: temperature must be > 0, got ${temperature}`);
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < length; i++) {
      const v = t[offset + i]!;
      if (!Number.isFinite(v)) throw new Error(`teacherMassCaptured: teacher score at index ${i} is ${v}`);
      if (v > max) max = v;
    }
    for (let i = 0; i < length; i++) {
      const e = Math.exp((t[offset + i]! - max) / temperature); // max-shifted for stability
      p[i] = e;
      sum += e;
    }
  } else {
    for (let i = 0; i < length; i++) {
      const v = t[offset + i]!;
      if (!(v >= 0 && Number.isFinite(v))) {
        throw new Error(
          `teacherMassCaptured: teacher probability at index ${i} is ${v}; expected a finite value ≥ 0`,
        );
      }
      p[i] = v;
      sum += v;
    }
    if (sum === 0) throw new Error('teacherMassCaptured: teacher probabilities sum to 0');
  }
  for (let i = 0; i < length; i++) p[i]! /= sum;
}

export interface ConsistencyInput extends TeacherDistribution {
  /** Teacher and student scores for the same candidates, lists concatenated (e.g. one list per request). */
  teacherScores: ScoreVector;
  studentScores: ScoreVector;
  /** List boundaries: list q is [offsets[q], offsets[q+1]). Omit with `listLength` for equal lists. */
  offsets?: Int32Array;
  listLength?: number;
  /** Cut-offs for overlap@K and teacher mass@K. */
  ks: number[];
}

export interface ConsistencyResult {
  /** Mean over lists: 'overlap@K', 'teacherMass@K' per K, 'kendallTau', 'spearman'. */
  metrics: Record<string, number>;
  /** Mean overlap per K, for the report's overlap@K curve. */
  overlapAtK: { k: number; overlap: number }[];
  lists: number;
  /** Lists where teacher or student scores are constant, so tau/rho are undefined; left out of those means. */
  listsWithoutCorrelation: number;
}

/** All consistency metrics averaged over candidate lists (each list weighted equally). */
export function consistencyMetrics(input: ConsistencyInput): ConsistencyResult {
  const what = 'consistencyMetrics';
  const { teacherScores: t, studentScores: s, ks } = input;
  checkSameLength(what, 'teacherScores', t, 'studentScores', s);
  if (ks.length === 0 || ks.some((k) => !Number.isInteger(k) || k < 1)) {
    throw new Error(`${what}: ks must be positive integers, got [${ks.join(', ')}]`);
  }
  let offsets = input.offsets;
  if (!offsets) {
    const len = input.listLength ?? t.length;
    if (!Number.isInteger(len) || len < 1 || t.length % len !== 0) {
      throw new Error(`${what}: listLength ${len} does not divide the ${t.length} scores into whole lists`);
    }
    offsets = new Int32Array(t.length / len + 1);
    for (let q = 0; q < offsets.length; q++) offsets[q] = q * len;
  }
  const nLists = offsets.length - 1;
  if (nLists < 1 || offsets[0] !== 0 || offsets[nLists] !== t.length) {
    throw new Error(`${what}: offsets must start at 0 and end at the number of scores (${t.length})`);
  }
  let maxLen = 0;
  for (let q = 0; q < nLists; q++) {
    const len = offsets[q + 1]! - offsets[q]!;
    if (len < 1) throw new Error(`${what}: list ${q} is empty (offsets ${offsets[q]}..${offsets[q + 1]})`);
    maxLen = Math.max(maxLen, len);
  }
  const sel = new TopKSelector(Math.min(Math.max(...ks), maxLen));
  const marks: Marks = { stamp: new Int32Array(maxLen), current: 0 };
  const p = new Float64Array(maxLen);
  const overlapSum = new Float64Array(ks.length);
  const massSum = new Float64Array(ks.length);
  let tauSum = 0;
  let rhoSum = 0;
  let correlated = 0;
  for (let q = 0; q < nLists; q++) {
    const lo = offsets[q]!;
    const len = offsets[q + 1]! - lo;
    const tq = t.subarray(lo, lo + len);
    const sq = s.subarray(lo, lo + len);
    for (let j = 0; j < ks.length; j++) {
      const k = Math.min(ks[j]!, len);
      overlapSum[j] += overlapOfRange(tq, sq, 0, len, k, sel, marks);
      massSum[j] += massOfRange(tq, sq, 0, len, k, input, sel, p);
    }
    const tau = kendallTau(tq, sq);
    if (!Number.isNaN(tau)) {
      tauSum += tau;
      rhoSum += spearman(tq, sq);
      correlated++;
    }
  }
  const metrics: Record<string, number> = {};
  const overlapAtK: { k: number; overlap: number }[] = [];
  for (let j = 0; j < ks.length; j++) {
    const k = ks[j]!;
    metrics[`overlap@${k}`] = overlapSum[j]! / nLists;
    metrics[`teacherMass@${k}`] = massSum[j]! / nLists;
    overlapAtK.push({ k, overlap: overlapSum[j]! / nLists });
  }
  metrics['kendallTau'] = correlated > 0 ? tauSum / correlated : Number.NaN;
  metrics['spearman'] = correlated > 0 ? rhoSum / correlated : Number.NaN;
  return { metrics, overlapAtK, lists: nLists, listsWithoutCorrelation: nLists - correlated };
}
