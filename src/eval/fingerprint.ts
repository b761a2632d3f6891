/**
 * What a results.json records so a number can be traced back to its inputs (issue 6, item 5): the
 * kdrec version (package.json), the git commit of the checkout that produced it, and a fingerprint
 * of the data: byte size and sha256 of every file read, plus, for simulated data, the simulator's
 * parameters (world seed, sizes, coefficients), which regenerate the ground truth.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadedDataset } from '../data/dataset.js';
import { readSimulationManifest } from '../data/simulator.js';

export { kdrecVersion } from '../engine/checkpoint.js';

/** The package root (the folder holding package.json), from this file in src/ or dist/src/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

/**
 * `git rev-parse HEAD` of the kdrec checkout, with `-dirty` appended when tracked files differ from
 * it (so a result from uncommitted code is not mistaken for the commit's); 'unknown' outside git.
 */
export function gitCommit(cwd = packageRoot()): string {
  const git = (args: string[]) =>
    execFileSync('git', args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    });
  let head: string;
  try {
    head = git(['rev-parse', 'HEAD']).trim();
  } catch {
    return 'unknown';
  }
  if (!/^[0-9a-f]{40}$/.test(head)) return 'unknown';
  try {
    const changed = git(['status', '--porcelain', '--untracked-files=no']).trim();
    return changed === '' ? head : `${head}-dirty`;
  } catch {
    return head;
  }
}

export interface DataFingerprint {
  /** One line for results.json's `dataset.fingerprint`. */
  text: string;
  /** The same in structured form, kept in results.json's config for tools. */
  files: { file: string; bytes: number; sha256: string }[];
  sha256: string;
  simulator?: Record<string, unknown>;
}

/**
 * Files (name, size, sha256; computed by the loader while reading) and, for `sim:` data, the
 * parameters in world.json. Two runs with equal fingerprints read byte-identical data.
 */
export function dataFingerprint(ds: LoadedDataset): DataFingerprint {
  const files = ds.fingerprint.files.map((f) => ({
    file: basename(f.path),
    bytes: f.bytes,
    sha256: f.sha256,
  }));
  const parts = [`sha256 ${ds.fingerprint.sha256}`];
  parts.push(files.map((f) => `${f.file} ${f.bytes} B sha256 ${f.sha256.slice(0, 16)}`).join(', '));
  let simulator: Record<string, unknown> | undefined;
  if (ds.kind === 'sim') {
    const m = readSimulationManifest(ds.path);
    simulator = { world: m.world, simulation: m.simulation, counts: m.counts };
    const paramsHash = createHash('sha256').update(JSON.stringify(simulator)).digest('hex').slice(0, 16);
    parts.push(
      `simulator: world seed ${m.world.seed}, ${m.world.users} users × ${m.world.items} items, ` +
        `${m.simulation.days} days, ${m.counts.events} events (parameters sha256 ${paramsHash})`,
    );
  }
  return {
    text: parts.join('; '),
    files,
    sha256: ds.fingerprint.sha256,
    ...(simulator ? { simulator } : {}),
  };
}
