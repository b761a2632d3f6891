/**
 * What the optional N-API addons' build scripts share (scripts/build-native.mjs for the kernels,
 * scripts/build-mpi.mjs for MPI): running a probe command, and running node-gyp on an addon folder
 * with the Node headers installed next to this node binary, so no header download is needed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Runs a command; `ok` is true when it started and exited 0, `out` is stdout + stderr. */
export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  return { ok: r.status === 0 && !r.error, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, error: r.error };
}

/**
 * `node-gyp rebuild` in `dir` with `env` added to the environment. Returns null on success, else the
 * reason (with node-gyp's last lines printed first), so the caller can print its one skip line.
 */
export function nodeGypRebuild(dir, env) {
  // node-gyp ships inside npm; npm exports its path to lifecycle scripts as npm_config_node_gyp.
  const gypCandidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ].filter((p) => p && existsSync(p));
  if (gypCandidates.length === 0) return 'node-gyp not found (it ships with npm; run this script through npm)';
  // Use the headers installed next to this node binary when present, so the build needs no download.
  const prefix = join(dirname(process.execPath), '..');
  const gypArgs = [gypCandidates[0], 'rebuild', '--directory', dir];
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) gypArgs.push(`--nodedir=${prefix}`);
  const build = run(process.execPath, gypArgs, { env: { ...process.env, ...env } });
  if (!build.ok) {
    console.log(build.out.trim().split('\n').slice(-15).join('\n'));
    return 'node-gyp build failed (output above)';
  }
  return null;
}
