/**
 * Output parts of a sharded command: shard i of n writes `DIR/part-I-of-N.EXT` (`kdrec teacher
 * score`, `teacher rank` and `export --vectors-only` under `--shard i/n` or `mpirun -np N`, one
 * part per rank), and a reader takes the folder only when it holds exactly parts 0..N−1 of one N,
 * so a missing rank or parts of two different jobs are an error, never a silently partial input.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ShardSpec } from './stream.js';

/** The file name of shard i of n's part: `part-I-of-N.EXT`. */
export function shardPartName(shard: ShardSpec, ext: string): string {
  return `part-${shard.index}-of-${shard.count}.${ext}`;
}

/** The parts of `dir` in shard order, checked complete; `what` names the input in errors. */
export function shardParts(dir: string, ext: string, what: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new Error(`${what} ${dir}: not a folder of part-I-of-N.${ext} files`);
  const re = new RegExp(`^part-(\\d+)-of-(\\d+)\\.${ext}$`);
  const parts = readdirSync(dir)
    .map((f) => ({ f, m: re.exec(f) }))
    .filter((p) => p.m !== null);
  if (parts.length === 0) throw new Error(`${what} ${dir}: no part-I-of-N.${ext} files`);
  const n = Number(parts[0]!.m![2]);
  const seen = new Set<number>();
  for (const p of parts) {
    if (Number(p.m![2]) !== n)
      throw new Error(`${what} ${dir}: parts of ${n} and of ${p.m![2]} shards are mixed`);
    seen.add(Number(p.m![1]));
  }
  for (let i = 0; i < n; i++)
    if (!seen.has(i)) throw new Error(`${what} ${dir}: part ${i} of ${n} is missing (run every shard)`);
  return [...parts].sort((a, b) => Number(a.m![1]) - Number(b.m![1])).map((p) => join(dir, p.f));
}
