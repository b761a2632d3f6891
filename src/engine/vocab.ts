/**
 * Vocabularies and feature hashing: how raw id strings become embedding-table row indices.
 *
 * A `Vocab` is built from the TRAIN split only (so the validation/test periods cannot leak which ids
 * exist in the future) and reserves index 0 for everything it has not seen: out-of-vocabulary ids,
 * ids below `minCount`, and missing values. Serving and export re-create the exact mapping from
 * `toJSON()`, so the order of tokens is deterministic (count descending, then token ascending).
 *
 * `hashBucket` is for unbounded id spaces (the "hashing trick", Weinberger et al., ICML 2009). It
 * is FNV-1a 32-bit over the UTF-8 bytes of the value: tiny, fast, stable across platforms and easy to
 * reproduce in another language at serving time, which matters more here than avalanche quality.
 */

/** Serialised form of a Vocab (what export manifests and checkpoints store). */
export interface VocabJSON {
  name: string;
  minCount: number;
  /** Token of row i+1 (row 0 is the OOV bucket). */
  tokens: string[];
  /** Train-split count of each token, parallel to `tokens`. */
  counts: number[];
}

export class Vocab {
  private readonly index = new Map<string, number>();

  private constructor(
    readonly name: string,
    /** Tokens in row order; tokens[i] has row i + 1. */
    readonly tokens: readonly string[],
    readonly counts: readonly number[],
    readonly minCount: number,
  ) {
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (this.index.has(t)) throw new Error(`vocab '${name}': duplicate token '${t}'`);
      this.index.set(t, i + 1);
    }
  }

  /** Row count of the embedding table this vocab indexes (tokens + the OOV row 0). */
  get size(): number {
    return this.tokens.length + 1;
  }

  /** Row of `token`, or 0 (OOV) when unseen or missing. */
  lookup(token: string | null | undefined): number {
    if (token === null || token === undefined) return 0;
    return this.index.get(token) ?? 0;
  }

  has(token: string): boolean {
    return this.index.has(token);
  }

  /** Token of a row; row 0 returns null (OOV). */
  tokenOf(row: number): string | null {
    if (row <= 0 || row > this.tokens.length) return null;
    return this.tokens[row - 1]!;
  }

  /**
   * Builds a vocab from (token, count) pairs, e.g. the result of a `GROUP BY` over the train split.
   * Tokens with count < minCount are left out (they map to OOV). Pairs with the same token are summed.
   */
  static fromCounts(name: string, pairs: Iterable<readonly [string, number]>, minCount = 1): Vocab {
    if (!Number.isInteger(minCount) || minCount < 1)
      throw new Error(`vocab '${name}': minCount must be an integer >= 1, got ${minCount}`);
    const merged = new Map<string, number>();
    for (const [tok, c] of pairs) merged.set(tok, (merged.get(tok) ?? 0) + c);
    const kept = [...merged].filter(([, c]) => c >= minCount);
    // Deterministic order: frequent tokens first (small rows for hot ids), ties by token.
    kept.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return new Vocab(
      name,
      kept.map(([t]) => t),
      kept.map(([, c]) => c),
      minCount,
    );
  }

  /** Builds a vocab by counting the values of an iterable (null/undefined are skipped). */
  static build(name: string, values: Iterable<string | null | undefined>, minCount = 1): Vocab {
    const counts = new Map<string, number>();
    for (const v of values) if (v !== null && v !== undefined) counts.set(v, (counts.get(v) ?? 0) + 1);
    return Vocab.fromCounts(name, counts, minCount);
  }

  toJSON(): VocabJSON {
    return { name: this.name, minCount: this.minCount, tokens: [...this.tokens], counts: [...this.counts] };
  }

  static fromJSON(j: VocabJSON): Vocab {
    if (!j || typeof j.name !== 'string' || !Array.isArray(j.tokens) || !Array.isArray(j.counts)) {
      throw new Error('vocab JSON: expected { name, minCount, tokens: string[], counts: number[] }');
    }
    if (j.tokens.length !== j.counts.length) {
      throw new Error(
        `vocab '${j.name}' JSON: tokens (${j.tokens.length}) and counts (${j.counts.length}) differ in length`,
      );
    }
    return new Vocab(j.name, j.tokens, j.counts, j.minCount ?? 1);
  }
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a 32-bit hash of the UTF-8 bytes of `value`, as an unsigned integer. */
export function fnv1a32(value: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < value.length; i++) {
    let c = value.charCodeAt(i);
    // Inline UTF-8 encoding so no Buffer is allocated per value.
    if (c < 0x80) {
      h = Math.imul(h ^ c, FNV_PRIME);
    } else if (c < 0x800) {
      h = Math.imul(h ^ (0xc0 | (c >> 6)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
    } else if (c >= 0xd800 && c < 0xdc00 && i + 1 < value.length) {
      const lo = value.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo < 0xe000) {
        i++;
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        h = Math.imul(h ^ (0xf0 | (c >> 18)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | ((c >> 12) & 0x3f)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
      } else {
        h = hash3(h, c);
      }
    } else {
      h = hash3(h, c);
    }
  }
  return h >>> 0;
}

function hash3(h: number, c: number): number {
  h = Math.imul(h ^ (0xe0 | (c >> 12)), FNV_PRIME);
  h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
  return Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
}

/** Bucket in [0, n) of a value under the FNV-1a 32-bit hash. */
export function hashBucket(value: string, n: number): number {
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`hashBucket: bucket count must be a positive integer, got ${n}`);
  return fnv1a32(value) % n;
}
