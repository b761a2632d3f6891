/**
 * Communication per step and speed of `sharding: replicated` against `sharding: row` (issue 16,
 * src/engine/rowShard.ts) in `mpirun -np N kdrec train`: writes one config per mode (the
 * dssm-ref-sized two-tower: embedding dim 32, towers 256-128-64, batch 1024, default Adam), runs
 * each R times as fresh jobs, interleaved, and prints final.json's `distributed` bytes per step by
 * kind (the same every run: it depends on the data only) and the median samples/s (training loop,
 * validation and checkpoints included) and training samples/s (validation excluded).
 *
 *   npm run build
 *   kdrec simulate --format parquet --events 200000 --users 3000 --items 5000 --out /tmp/rs/sim --quiet
 *   kdrec data prepare --dataset sim:/tmp/rs/sim --out /tmp/rs/prep --quiet
 *   node dist/bench/rowSharding.js --prepared /tmp/rs/prep --ranks 2 --steps 200 --runs 3
 *
 * Bytes are what one rank (rank 0's view) sends: `sparse` is the payload a replicated table hands
 * to MPI_Allgatherv (it reaches all N − 1 other ranks); the row-sharded kinds count only what goes
 * to other ranks (ids to the owners, rows back, gradient rows to the owners).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    prepared: { type: 'string', default: '/tmp/rs/prep' },
    ranks: { type: 'string', default: '2' },
    steps: { type: 'string', default: '200' },
    runs: { type: 'string', default: '3' },
    /** Global batch; a multiple of --ranks (1023 for 3 ranks). */
    batch: { type: 'string', default: '1024' },
  },
});
const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const out = mkdtempSync(join(tmpdir(), 'kdrec-row-sharding-'));
const modes = ['replicated', 'row'] as const;
const configs = Object.fromEntries(
  modes.map((m) => {
    const path = join(out, `${m}.yaml`);
    writeFileSync(
      path,
      [
        `name: bench-${m}`,
        `dataset: { spec: 'prepared:${resolve(values.prepared)}', stream: true, maxValidRows: 5000 }`,
        'mode: student',
        'student: { type: two-tower, embeddingDim: 32, userHidden: [256, 128, 64], itemHidden: [256, 128, 64] }',
        `batchSize: ${Number(values.batch)}`,
        `steps: ${Number(values.steps)}`,
        `sharding: ${m}`,
      ].join('\n'),
    );
    return [m, path];
  }),
) as Record<(typeof modes)[number], string>;

interface Final {
  samplesPerSec: number;
  trainSamplesPerSec: number;
  distributed: Record<string, number>;
}
const results = new Map<string, Final[]>(modes.map((m) => [m, []]));
console.log(
  `load average before: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
for (let r = 0; r < Number(values.runs); r++) {
  for (const m of modes) {
    const runDir = join(out, `${m}-${r}`);
    const res = spawnSync(
      'mpirun',
      [
        '--oversubscribe',
        '--allow-run-as-root',
        '-np',
        values.ranks,
        process.execPath,
        cli,
        'train',
        '--config',
        configs[m],
        '--run-dir',
        runDir,
        '--quiet',
      ],
      { encoding: 'utf8' },
    );
    if (res.status !== 0) throw new Error(`run failed (${m}):\n${res.stdout}${res.stderr}`);
    const final = JSON.parse(readFileSync(join(runDir, 'final.json'), 'utf8')) as Final;
    results.get(m)!.push(final);
    console.log(JSON.stringify({ run: r, mode: m, samplesPerSec: final.samplesPerSec }));
  }
}
for (const m of modes) {
  const fs = results.get(m)!;
  const d = fs[0]!.distributed;
  console.log(
    JSON.stringify({
      mode: m,
      ranks: d['ranks'],
      samplesPerSecMedian: median(fs.map((f) => f.samplesPerSec)),
      trainSamplesPerSecMedian: median(fs.map((f) => f.trainSamplesPerSec)),
      bytesPerStep: d['bytesPerStep'],
      dense: d['denseBytesPerStep'],
      sparseReplicated: d['sparseBytesPerStep'],
      rowIds: d['rowIdsBytesPerStep'],
      rowRows: d['rowRowsBytesPerStep'],
      rowGrads: d['rowGradBytesPerStep'],
      control: d['controlBytesPerStep'],
      ownedRowsMax: d['ownedRowsMax'],
      rowShardedRows: d['rowShardedRows'],
      lookupCacheRowsMax: d['lookupCacheRowsMax'],
      syncBytes: d['syncBytes'],
    }),
  );
}
console.log(
  `load average after: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
