/**
 * Shared helpers for the metrics: input checks that name the array and index of a bad value, and
 * average ("fractional") ranks, where tied values share the mean of the ranks they span — the
 * ranks Spearman's rho with ties is defined on.
 */

export type NumberArray = Float32Array | Float64Array | Int32Array | Uint8Array | readonly number[];

/** Throws unless `a` and `b` have the same length; `what` names the metric in the message. */
export function checkSameLength(
  what: string,
  nameA: string,
  a: ArrayLike<number>,
  nameB: string,
  b: ArrayLike<number>,
): void {
  if (a.length !== b.length) {
    throw new Error(
      `${what}: ${nameA} has ${a.length} values but ${nameB} has ${b.length}; they must be aligned`,
    );
  }
}

/** Throws at the first NaN/±Infinity, naming the array and index. */
export function checkFinite(what: string, name: string, a: ArrayLike<number>): void {
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    if (!Number.isFinite(v)) throw new Error(`${what}: ${name}[${i}] is ${v}; expected a finite number`);
  }
}

/** Throws unless every label is exactly 0 or 1. */
export function checkBinaryLabels(what: string, labels: ArrayLike<number>): void {
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]!;
    if (v !== 0 && v !== 1) throw new Error(`${what}: labels[${i}] is ${v}; expected 0 or 1`);
  }
}

/**
 * Average ranks (1-based) of `values`: out[i] is the rank of values[i] in ascending order, ties
 * sharing the mean of their ranks. O(n log n).
 */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const order = new Int32Array(values.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  order.sort((a, b) => values[a]! - values[b]!);
  const ranks = new Float64Array(values.length);
  let i = 0;
  while (i < order.length) {
    let j = i + 1;
    const v = values[order[i]!]!;
    while (j < order.length && values[order[j]!]! === v) j++;
    const r = (i + 1 + j) / 2; // mean of ranks i+1 .. j
    for (let t = i; t < j; t++) ranks[order[t]!] = r;
    i = j;
  }
  return ranks;
}
