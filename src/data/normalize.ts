/**
 * Numeric normalisation with train-split statistics: the one definition training, serving and the
 * in-browser page (src/serve/webExport.ts) apply. Dependency-free so the page can load the
 * compiled module as it is.
 */
export type Normalization = 'none' | 'standard' | 'log1p' | 'minmax';

/** Statistics fitted on the train split for a numeric field (applied by `normalizeValue`). */
export interface NumericStats {
  mean: number;
  std: number;
  min: number;
  max: number;
}

export function normalizeInPlace(values: Float32Array, kind: Normalization, s: NumericStats): Float32Array {
  switch (kind) {
    case 'none':
      return values;
    case 'standard': {
      const inv = s.std > 0 ? 1 / s.std : 1;
      for (let i = 0; i < values.length; i++) values[i] = (values[i]! - s.mean) * inv;
      return values;
    }
    case 'log1p':
      // Counts and durations: compress the heavy tail. Values below 0 are refused at fit time.
      for (let i = 0; i < values.length; i++) values[i] = Math.log1p(Math.max(values[i]!, 0));
      return values;
    case 'minmax': {
      const span = s.max - s.min;
      const inv = span > 0 ? 1 / span : 1;
      for (let i = 0; i < values.length; i++) values[i] = (values[i]! - s.min) * inv;
      return values;
    }
  }
}
