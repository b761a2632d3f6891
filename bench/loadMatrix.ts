/**
 * The HTTP load-test table of BENCHMARKS.md: runs bench/load.ts (compiled) for every configuration
 * — items × server processes × load shape — `--runs` times, interleaved (run 1 of every
 * configuration, then run 2, ...) so a burst of load from other processes hits all alike, and prints
 * one JSON line per configuration with the median and all values of req/s, p50, p99 and max latency,
 * and the summed errors, timeouts and non-2xx responses.
 *
 *   npm run build && node dist/bench/loadMatrix.js --keep100k DIR --keep1m DIR [--runs 3]
 *       [--workers 1,2] [--loads closed8,open200] [--duration 15]
 *
 * `closedC` = C concurrent connections (autocannon, as fast as the server answers); `openR` = Poisson
 * arrivals at R requests/s (see bench/load.ts). The exports are built once by bench/load.ts --keep.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    keep100k: { type: 'string' },
    keep1m: { type: 'string' },
    runs: { type: 'string', default: '3' },
    workers: { type: 'string', default: '1,2' },
    loads: { type: 'string', default: 'closed8,open200' },
    duration: { type: 'string', default: '15' },
  },
});
const load = fileURLToPath(new URL('./load.js', import.meta.url));
const sizes: [number, string][] = [];
if (values.keep100k) sizes.push([100_000, values.keep100k]);
if (values.keep1m) sizes.push([1_000_000, values.keep1m]);
if (sizes.length === 0)
  throw new Error('give --keep100k DIR and/or --keep1m DIR (exports kept by bench/load.ts --keep)');

interface Row {
  reqPerSec: number;
  p50ms: number;
  p99ms: number;
  maxMs: number;
  errors: number;
  timeouts: number;
  non2xx: number;
}
const configs = sizes.flatMap(([items, keep]) =>
  values.workers!.split(',').flatMap((w) =>
    values.loads!.split(',').map((l) => {
      const m = /^(closed|open)(\d+)$/.exec(l.trim());
      if (!m) throw new Error(`--loads: expected closedC or openR, got '${l}'`);
      const shape = m[1] === 'closed' ? ['--connections', m[2]!] : ['--rate', m[2]!];
      return { items, keep, workers: Number(w), load: l.trim(), shape, rows: [] as Row[] };
    }),
  ),
);
const load0 = loadavg()[0]!;
for (let run = 0; run < Number(values.runs); run++) {
  for (const c of configs) {
    const r = spawnSync(
      process.execPath,
      [
        load,
        '--items',
        String(c.items),
        '--keep',
        c.keep,
        '--workers',
        String(c.workers),
        '--duration',
        values.duration!,
        ...c.shape,
      ],
      { encoding: 'utf8' },
    );
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if (r.status !== 0 || !line.startsWith('{')) throw new Error(`load.ts failed (${c.load}): ${r.stderr}`);
    c.rows.push(JSON.parse(line) as Row);
  }
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
for (const c of configs) {
  const col = (k: keyof Row) => c.rows.map((r) => r[k]);
  process.stdout.write(
    `${JSON.stringify({
      items: c.items,
      workers: c.workers,
      load: c.load,
      reqPerSec: median(col('reqPerSec')),
      p50ms: median(col('p50ms')),
      p99ms: median(col('p99ms')),
      maxMs: median(col('maxMs')),
      all: { reqPerSec: col('reqPerSec'), p99ms: col('p99ms') },
      failed:
        col('errors').reduce((a, b) => a + b, 0) +
        col('timeouts').reduce((a, b) => a + b, 0) +
        col('non2xx').reduce((a, b) => a + b, 0),
    })}\n`,
  );
}
process.stdout.write(`${JSON.stringify({ loadAverageBefore: load0, loadAverageAfter: loadavg()[0] })}\n`);
