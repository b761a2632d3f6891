/**
 * CPU feature flags of this machine, for `kdrec doctor` and for choosing OpenBLAS's core type.
 * Linux reports them in /proc/cpuinfo ("flags" on x86, "Features" on ARM); elsewhere the set is
 * empty and callers treat that as "unknown".
 */
import { readFileSync } from 'node:fs';

let cached: ReadonlySet<string> | null = null;

export function cpuFeatures(): ReadonlySet<string> {
  if (cached !== null) return cached;
  let flags = new Set<string>();
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const line = info.split('\n').find((l) => /^(flags|Features)\s*:/.test(l));
    if (line !== undefined)
      flags = new Set(
        line
          .slice(line.indexOf(':') + 1)
          .trim()
          .split(/\s+/),
      );
  } catch {
    // No /proc (macOS, Windows): features unknown.
  }
  cached = flags;
  return flags;
}

/** The SIMD-relevant subset, in a fixed order, for display. */
export const DISPLAY_FEATURES = [
  'sse4_2',
  'avx',
  'avx2',
  'fma',
  'f16c',
  'avx512f',
  'avx512bw',
  'avx512vl',
  'avx512_vnni',
  'avx512_bf16',
  'amx_tile',
  'neon',
  'asimd',
  'sve',
] as const;
