/**
 * Speed-up of `kdrec train --threads N` on a real training config (the distillation loop, not the
 * engine's reference model): runs the config R times per thread count, each run a fresh process,
 * interleaved (run 1 of every N, then run 2, ...) so that load bursts from other processes hit all
 * thread counts alike, and prints the median samples/s of the training loop (final.json: training
 * steps, validation and checkpoints included, data loading excluded) and the speed-up over 1 thread.
 *
 *   npm run build && node dist/bench/trainThreads.js --config examples/pfd.yaml --runs 5 --threads 1,2
 *
 * The config's dataset path is resolved from the current directory; a `simulate` block creates the
 * world in the first run (before the loop's clock starts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    config: { type: 'string', default: 'examples/pfd.yaml' },
    runs: { type: 'string', default: '5' },
    threads: { type: 'string', default: '1,2' },
  },
});
const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const runs = Number(values.runs);
const threads = values.threads.split(',').map(Number);
const config = resolve(values.config);
const out = mkdtempSync(join(tmpdir(), 'kdrec-train-threads-'));
const sps = new Map<number, number[]>(threads.map((t) => [t, []]));

console.log(
  `load average before: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
for (let r = 0; r < runs; r++) {
  for (const t of threads) {
    const runDir = join(out, `t${t}-r${r}`);
    const res = spawnSync(
      process.execPath,
      [cli, 'train', '--config', config, '--threads', String(t), '--run-dir', runDir, '--quiet'],
      { encoding: 'utf8' },
    );
    if (res.status !== 0) throw new Error(`run failed (threads ${t}):\n${res.stderr}`);
    const final = JSON.parse(readFileSync(join(runDir, 'final.json'), 'utf8')) as {
      samplesPerSec: number;
      wallSeconds: number;
    };
    sps.get(t)!.push(final.samplesPerSec);
    console.log(
      JSON.stringify({
        run: r,
        threads: t,
        samplesPerSec: final.samplesPerSec,
        wallSeconds: final.wallSeconds,
      }),
    );
  }
}
console.log(
  `load average after: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
const base = sps.has(1) ? median(sps.get(1)!) : null;
for (const t of threads) {
  const xs = sps.get(t)!;
  const m = median(xs);
  console.log(
    JSON.stringify({
      config: values.config,
      threads: t,
      medianSamplesPerSec: m,
      min: Math.min(...xs),
      max: Math.max(...xs),
      ...(base !== null ? { speedupVs1Thread: Number((m / base).toFixed(2)) } : {}),
    }),
  );
}
