/**
 * A run directory: everything needed to inspect, resume or reuse one training run.
 *
 *   RUN/config.json           the validated config (defaults filled in), plus config.source.* as written
 *   RUN/metrics.jsonl         one JSON object per eval step (loss terms, validation AUCs, λ)
 *   RUN/checkpoints/step-000000123.safetensors   parameters + optimiser state (atomic writes)
 *   RUN/final.json            summary: selected step, final metrics, timings
 *
 * Checkpoints are named by step with zero padding so the latest is simply the last name in sorted
 * order; resuming picks it.
 */
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';

export interface RunPaths {
  dir: string;
  config: string;
  metrics: string;
  final: string;
  checkpoints: string;
}

export function runPaths(dir: string): RunPaths {
  return {
    dir,
    config: join(dir, 'config.json'),
    metrics: join(dir, 'metrics.jsonl'),
    final: join(dir, 'final.json'),
    checkpoints: join(dir, 'checkpoints'),
  };
}

/** `NAME-YYYYMMDD-HHMMSS` under `outDir`; a numeric suffix avoids clobbering a run from the same second. */
export function newRunDir(outDir: string, name: string, now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  let dir = join(outDir, `${name}-${stamp}`);
  for (let k = 2; existsSync(dir); k++) dir = join(outDir, `${name}-${stamp}-${k}`);
  return dir;
}

/** Creates the folders and writes the config copy (and the source text, if given). */
export function initRunDir(
  dir: string,
  config: unknown,
  sourceText?: { text: string; ext: string },
): RunPaths {
  const paths = runPaths(dir);
  mkdirSync(paths.checkpoints, { recursive: true });
  writeJsonAtomic(paths.config, config);
  if (sourceText !== undefined) writeFileSync(join(dir, `config.source${sourceText.ext}`), sourceText.text);
  return paths;
}

export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, path);
}

export function appendMetrics(paths: RunPaths, record: object): void {
  appendFileSync(paths.metrics, `${JSON.stringify(record)}\n`);
}

/** Reads metrics.jsonl; a malformed line is reported with its line number. */
export function readMetrics(paths: RunPaths): Record<string, unknown>[] {
  if (!existsSync(paths.metrics)) return [];
  const lines = readFileSync(paths.metrics, 'utf8').split('\n');
  const out: Record<string, unknown>[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch (err) {
      throw new Error(`${paths.metrics}:${i + 1}: not valid JSON (${(err as Error).message})`);
    }
  });
  return out;
}

export function checkpointPath(paths: RunPaths, step: number): string {
  return join(paths.checkpoints, `step-${String(step).padStart(9, '0')}.safetensors`);
}

const CKPT_RE = /^step-(\d{9})\.safetensors$/;

/** All checkpoints of a run, oldest first. */
export function listCheckpoints(paths: RunPaths): { step: number; path: string }[] {
  if (!existsSync(paths.checkpoints)) return [];
  return readdirSync(paths.checkpoints)
    .filter((f) => CKPT_RE.test(f))
    .sort()
    .map((f) => ({ step: Number(CKPT_RE.exec(f)![1]), path: join(paths.checkpoints, f) }));
}

export function latestCheckpoint(paths: RunPaths): { step: number; path: string } | null {
  const all = listCheckpoints(paths);
  return all.length === 0 ? null : all[all.length - 1]!;
}

/** Reads a run's config.json (for `teacher score --run RUN`). */
export function readRunConfig(dir: string): unknown {
  const paths = runPaths(dir);
  if (!existsSync(paths.config)) {
    throw new Error(`${dir} is not a kdrec run directory: ${basename(paths.config)} is missing`);
  }
  return JSON.parse(readFileSync(paths.config, 'utf8'));
}
