/**
 * Per-phase profile of data-parallel training (src/engine/parallel.ts): runs `kdrec bench train`
 * with KDREC_PARALLEL_PROFILE=1 for each (kernel provider, threads), interleaved like
 * trainMedians.ts, and prints per phase the median over runs of each rank's median (or mean, --stat)
 * µs per step, next to half the 1-thread figure (what a phase would cost on a rank if splitting the
 * work were free).
 *
 *   npm run build && node dist/bench/parallelProfile.js --runs 3 --kernels native,wasm --steps 200 --warmup 30
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PHASES } from '../src/engine/parallel.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    kernels: { type: 'string', default: 'native' },
    threads: { type: 'string', default: '1,2' },
    steps: { type: 'string', default: '200' },
    warmup: { type: 'string', default: '30' },
    batch: { type: 'string', default: '1024' },
    /** Passed to bench train when given (its default: one batch per step). */
    pool: { type: 'string' },
    /** Which per-step statistic of each run to show: median or mean (a rank's waits are skewed). */
    stat: { type: 'string', default: 'median' },
  },
});
if (values.stat !== 'median' && values.stat !== 'mean')
  throw new Error(`--stat must be median or mean, got '${values.stat}'`);
const statIndex = values.stat === 'median' ? 0 : 1;
const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
const median = (xs: number[]): number => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Run {
  kernels: string;
  threads: number;
  /** Per run, per rank: phase → [median, mean] µs per step. */
  profiles: Record<string, number[]>[][];
  msPerStep: number[];
  spc: number[];
}
const runs: Run[] = [];
for (const kernels of values.kernels.split(','))
  for (const t of values.threads.split(','))
    runs.push({ kernels, threads: Number(t), profiles: [], msPerStep: [], spc: [] });

const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
process.stderr.write(`load average before: ${load()}\n`);
for (let i = 0; i < Number(values.runs); i++) {
  for (const c of runs) {
    const args = [cli, 'bench', 'train', '--batch', values.batch, '--threads', String(c.threads)];
    if (values.pool !== undefined) args.push('--pool', values.pool);
    const out = spawnSync(
      process.execPath,
      [...args, '--steps', values.steps, '--warmup', values.warmup, '--json'],
      { env: { ...process.env, KDREC_KERNELS: c.kernels, KDREC_PARALLEL_PROFILE: '1' }, encoding: 'utf8' },
    );
    if (out.status !== 0)
      throw new Error(`bench train failed (${c.kernels}, ${c.threads} threads): ${out.stderr}`);
    const line = out.stderr.split('\n').find((l) => l.startsWith('{"parallelProfile"'));
    if (line === undefined) throw new Error(`no parallelProfile line on stderr: ${out.stderr}`);
    c.profiles.push(
      (JSON.parse(line) as { parallelProfile: { ranks: Record<string, number[]>[] } }).parallelProfile.ranks,
    );
    const r = JSON.parse(out.stdout.trim().split('\n').pop()!) as {
      msPerStep: number;
      samplesPerCpuSec: number;
    };
    c.msPerStep.push(r.msPerStep);
    c.spc.push(r.samplesPerCpuSec);
  }
}
process.stderr.write(`load average after: ${load()}\n`);

for (const kernels of values.kernels.split(',')) {
  const mine = runs.filter((c) => c.kernels === kernels);
  const one = mine.find((c) => c.threads === 1);
  const cols: string[] = [];
  const table: Record<string, (number | string)[]> = {};
  for (const ph of PHASES) table[ph] = [];
  const total: (number | string)[] = [];
  for (const c of mine) {
    for (let r = 0; r < c.threads; r++) {
      cols.push(`${c.threads}t r${r}`);
      let sum = 0;
      for (const ph of PHASES) {
        const v = median(c.profiles.map((p) => p[r]![ph]?.[statIndex] ?? 0));
        table[ph]!.push(v);
        sum += v;
      }
      total.push(sum);
    }
    if (c === one && mine.some((m) => m.threads > 1)) {
      cols.push('1t / 2');
      for (const ph of PHASES) table[ph]!.push(Math.round((table[ph]!.at(-1) as number) / 2));
      total.push(Math.round((total.at(-1) as number) / 2));
    }
  }
  process.stdout.write(
    `\n${kernels}: µs per step, median over runs of each run's ${values.stat} (runs ${values.runs}, steps ${values.steps})\n`,
  );
  process.stdout.write(`${['phase'.padEnd(13), ...cols.map((c) => c.padStart(9))].join('')}\n`);
  for (const ph of PHASES) {
    if (table[ph]!.every((v) => v === 0)) continue;
    process.stdout.write(`${[ph.padEnd(13), ...table[ph]!.map((v) => String(v).padStart(9))].join('')}\n`);
  }
  process.stdout.write(`${['sum'.padEnd(13), ...total.map((v) => String(v).padStart(9))].join('')}\n`);
  for (const c of mine)
    process.stdout.write(
      `${c.threads} thread(s): median ms/step ${median(c.msPerStep)}, samples/CPU-s ${median(c.spc)}\n`,
    );
}
