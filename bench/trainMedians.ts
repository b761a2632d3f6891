/**
 * Runs `kdrec bench train` several times per (kernel provider, threads) and prints the median
 * samples/s — the figures in BENCHMARKS.md. Each run is a fresh process; runs are interleaved
 * (run 1 of every configuration, then run 2, ...) so that a burst of load from other processes on
 * a shared machine hits all configurations alike instead of one. The load average before and after
 * is printed so a noisy measurement is visible as such. With threads 1 in the list, each summary
 * line also gives the speed-up over the 1-thread median of the same provider (issue 2's target:
 * ≥ 1.6 with --threads 2).
 *
 *   npm run build && node dist/bench/trainMedians.js --runs 5 --kernels js,wasm,native --threads 1,2 --steps 30
 *
 * With --cli before/dist/src/cli/main.js,dist/src/cli/main.js two builds run A/B, interleaved.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    kernels: { type: 'string', default: 'js' },
    threads: { type: 'string', default: '1,2' },
    steps: { type: 'string', default: '30' },
    batch: { type: 'string', default: '1024' },
    /** Passed to bench train when given (its default: one batch per step). */
    pool: { type: 'string' },
    /**
     * Comma-separated kdrec CLI entry points to compare, A/B interleaved in the same runs (e.g. a
     * copy of dist/ built before a change, then this one); default: this build's.
     */
    cli: { type: 'string' },
  },
});
const thisCli = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
const clis = values.cli === undefined ? [thisCli] : values.cli.split(',');
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Config {
  cli: string;
  kernels: string;
  threads: string;
  provider: string;
  sps: number[];
  rss: number[];
  util: number[];
  spc: number[];
}
const configs: Config[] = [];
for (const kernels of values.kernels.split(','))
  for (const threads of values.threads.split(','))
    for (const cli of clis)
      configs.push({ cli, kernels, threads, provider: '', sps: [], rss: [], util: [], spc: [] });
const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
process.stderr.write(`load average before: ${load()}\n`);
for (let r = 0; r < Number(values.runs); r++) {
  for (const c of configs) {
    const args = [
      c.cli,
      'bench',
      'train',
      '--model',
      'dssm-ref',
      '--batch',
      values.batch,
      '--threads',
      c.threads,
    ];
    if (values.pool !== undefined) args.push('--pool', values.pool);
    const out = spawnSync(process.execPath, [...args, '--steps', values.steps, '--json'], {
      env: { ...process.env, KDREC_KERNELS: c.kernels },
      encoding: 'utf8',
    });
    if (out.status !== 0)
      throw new Error(`bench train failed (${c.cli}, ${c.kernels}, ${c.threads} threads): ${out.stderr}`);
    const line = JSON.parse(out.stdout.trim().split('\n').pop()!) as {
      samplesPerSec: number;
      peakRssMiB: number;
      kernels: string;
      cpuUtilization: number;
      samplesPerCpuSec: number;
    };
    process.stderr.write(`${clis.length > 1 ? `${c.cli} ` : ''}${out.stdout.trim()}\n`);
    c.sps.push(line.samplesPerSec);
    c.rss.push(line.peakRssMiB);
    c.util.push(line.cpuUtilization);
    c.spc.push(line.samplesPerCpuSec);
    c.provider = line.kernels;
  }
}
process.stderr.write(`load average after: ${load()}\n`);
const key = (c: Config): string => `${c.cli}|${c.kernels}`;
const oneThread = new Map(configs.filter((c) => c.threads === '1').map((c) => [key(c), c]));
for (const c of configs) {
  const ref = oneThread.get(key(c));
  const summary = {
    ...(clis.length > 1 ? { cli: c.cli } : {}),
    kernels: c.provider,
    threads: Number(c.threads),
    runs: c.sps.length,
    medianSamplesPerSec: median(c.sps),
    min: Math.min(...c.sps),
    max: Math.max(...c.sps),
    medianPeakRssMiB: median(c.rss),
    medianCpuUtilization: median(c.util),
    medianSamplesPerCpuSec: median(c.spc),
    // Against the 1-thread median of the same provider (and CLI) measured in the same interleaved
    // runs; `pairedSpeedup` is the median of the per-round ratios (each against the 1-thread run
    // just before it), less sensitive to load that changes between rounds.
    ...(ref === undefined
      ? {}
      : {
          speedupVs1Thread: Number((median(c.sps) / median(ref.sps)).toFixed(2)),
          pairedSpeedup: Number(median(c.sps.map((x, i) => x / ref.sps[i]!)).toFixed(2)),
        }),
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}
