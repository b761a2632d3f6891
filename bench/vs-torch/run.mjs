#!/usr/bin/env node
/**
 * `npm run bench:vs-torch` (issue 8): kdrec against PyTorch on the same machine, same model
 * (dssm-ref), same protocol, run alternately several times; prints medians and kdrec/PyTorch ratios.
 *
 *   training    `kdrec bench train --model dssm-ref --batch 1024 --json`   vs dssm_ref_torch.py        (samples/s)
 *   user tower  dist/bench/vs-torch/kdrecInfer.js --mode user-tower        vs --mode user-tower       (users/s, 4,096 users)
 *   scoring     dist/bench/vs-torch/kdrecInfer.js --mode score             vs --mode score            (1 user × 200,000 items, top 100)
 *
 * Both sides run single-threaded: PyTorch with torch.set_num_threads(1) and OPENBLAS_NUM_THREADS=1,
 * OMP_NUM_THREADS=1 (its BLAS would otherwise start a thread per core); kdrec with one BLAS thread.
 * Both use the same OpenBLAS core type: kdrec chooses it from the CPU flags (see
 * src/engine/kernels/native.ts), and the same value is passed to PyTorch as OPENBLAS_CORETYPE, so the
 * peer is not handicapped by OpenBLAS misdetecting the CPU.
 *
 * Needs `npm run build` first, and Debian's python3-torch (/usr/bin/python3; override with
 * KDREC_TORCH_PYTHON). Options: --runs N (default 5), --steps N (training steps per run, default 30),
 * --skip-infer, --json (one JSON line), --parallel N: also data-parallel training on N cores, kdrec
 * `--threads N` against PyTorch DistributedDataParallel over N processes (`--ddp N`, gloo), and each
 * side's speed-up over its own one-thread run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const runs = Number(opt('runs', '5'));
const steps = Number(opt('steps', '30'));
const asJson = args.includes('--json');
const parallel = Number(opt('parallel', '1'));
const python = process.env.KDREC_TORCH_PYTHON || '/usr/bin/python3';
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const infer = join(root, 'dist', 'bench', 'vs-torch', 'kdrecInfer.js');
const torchScript = join(root, 'bench', 'vs-torch', 'dssm_ref_torch.py');

function fail(msg) {
  process.stderr.write(`bench:vs-torch: ${msg}\n`);
  process.exit(2);
}
if (!Number.isInteger(runs) || runs < 1) fail(`--runs must be a positive integer, got '${opt('runs')}'`);
if (!Number.isInteger(steps) || steps < 1) fail(`--steps must be a positive integer, got '${opt('steps')}'`);
if (!Number.isInteger(parallel) || parallel < 1)
  fail(`--parallel must be a positive integer, got '${opt('parallel')}'`);
for (const f of [cli, infer]) if (!existsSync(f)) fail(`${f} is missing: run \`npm run build\` first`);
const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
if (probe.status !== 0) {
  fail(
    `PyTorch not importable by ${python} (Debian: apt-get install python3-torch; or set KDREC_TORCH_PYTHON)`,
  );
}

/** Runs a command that prints one JSON line; returns the parsed object. */
function runJson(cmd, cmdArgs, env) {
  const r = spawnSync(cmd, cmdArgs, { encoding: 'utf8', env: { ...process.env, ...env }, cwd: root });
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) {
    fail(`${cmd} ${cmdArgs.join(' ')} failed (exit ${r.status}):\n${r.stderr}${r.stdout}`);
  }
  return JSON.parse(line);
}

const doctor = runJson(process.execPath, [cli, 'doctor', '--json'], {});
const kernels = doctor.kernels;
const coretype = process.env.OPENBLAS_CORETYPE ?? kernels.blasCore ?? '';
const kdrecEnv = { KDREC_BLAS_THREADS: '1', ...(coretype ? { OPENBLAS_CORETYPE: coretype } : {}) };
const torchEnv = {
  OPENBLAS_NUM_THREADS: '1',
  OMP_NUM_THREADS: '1',
  ...(coretype ? { OPENBLAS_CORETYPE: coretype } : {}),
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const trainArgs = ['--batch', '1024', '--steps', String(steps), '--json'];
// Each side returns { wall, cpu }: the wall-clock figure, and the same figure computed from the
// process's CPU time when the side reports it (null otherwise). CPU-time rates are the stable ones
// on a machine shared with other work; wall-clock is what a user sees on an idle machine.
const pick = (wallKey, cpuKey) => (r) => ({ wall: r[wallKey], cpu: r[cpuKey] ?? null });
const benches = [
  {
    name: 'train dssm-ref batch 1024 (samples/s)',
    kdrec: () =>
      pick(
        'samplesPerSec',
        'cpuSamplesPerSec',
      )(runJson(process.execPath, [cli, 'bench', 'train', '--model', 'dssm-ref', ...trainArgs], kdrecEnv)),
    torch: () =>
      pick(
        'samplesPerSec',
        'cpuSamplesPerSec',
      )(runJson(python, [torchScript, '--mode', 'train', ...trainArgs], torchEnv)),
    higherIsBetter: true,
  },
];
if (parallel > 1) {
  const n = String(parallel);
  benches.push({
    name: `train dssm-ref batch 1024, ${n}-way data parallel (samples/s)`,
    kdrec: () =>
      pick(
        'samplesPerSec',
        'cpuSamplesPerSec',
      )(
        runJson(
          process.execPath,
          [cli, 'bench', 'train', '--model', 'dssm-ref', '--threads', n, ...trainArgs],
          kdrecEnv,
        ),
      ),
    torch: () =>
      pick(
        'samplesPerSec',
        'cpuSamplesPerSec',
      )(runJson(python, [torchScript, '--mode', 'train', '--ddp', n, ...trainArgs], torchEnv)),
    higherIsBetter: true,
    parallel: true,
  });
}
if (!args.includes('--skip-infer')) {
  benches.push(
    {
      name: 'user tower, 4096 users (users/s)',
      kdrec: () =>
        pick(
          'usersPerSec',
          'cpuUsersPerSec',
        )(runJson(process.execPath, [infer, '--mode', 'user-tower', '--json'], kdrecEnv)),
      torch: () =>
        pick(
          'usersPerSec',
          'cpuUsersPerSec',
        )(runJson(python, [torchScript, '--mode', 'user-tower', '--json'], torchEnv)),
      higherIsBetter: true,
    },
    {
      name: 'score 1 user x 200000 items + top-100 (ms)',
      kdrec: () =>
        pick('ms', 'cpuMs')(runJson(process.execPath, [infer, '--mode', 'score', '--json'], kdrecEnv)),
      torch: () => pick('ms', 'cpuMs')(runJson(python, [torchScript, '--mode', 'score', '--json'], torchEnv)),
      higherIsBetter: false,
    },
  );
}

/** Median and kdrec/PyTorch ratio (> 1 = kdrec faster, whichever way the unit goes). */
function compare(k, t, higherIsBetter) {
  if (k.some((x) => x === null) || t.some((x) => x === null)) return null;
  const km = median(k);
  const tm = median(t);
  return { kdrec: km, torch: tm, ratio: Number((higherIsBetter ? km / tm : tm / km).toFixed(3)) };
}

const results = [];
for (const b of benches) {
  const k = [];
  const t = [];
  // Alternate so that load changes on a shared machine hit both sides alike.
  for (let r = 0; r < runs; r++) {
    k.push(b.kdrec());
    t.push(b.torch());
    if (!asJson) {
      const fmt = (x) => `${x.wall}${x.cpu === null ? '' : ` (cpu ${x.cpu})`}`;
      process.stderr.write(`  ${b.name} run ${r + 1}/${runs}: kdrec ${fmt(k[r])}, pytorch ${fmt(t[r])}\n`);
    }
  }
  results.push({
    bench: b.name,
    wall: compare(
      k.map((x) => x.wall),
      t.map((x) => x.wall),
      b.higherIsBetter,
    ),
    cpu: compare(
      k.map((x) => x.cpu),
      t.map((x) => x.cpu),
      b.higherIsBetter,
    ),
    kdrec: k,
    torch: t,
  });
}

// Each side's data-parallel speed-up over its own one-thread training (wall medians).
const one = results[0];
const par = results.find((_r, i) => benches[i].parallel);
const speedup =
  par === undefined
    ? null
    : {
        processes: parallel,
        kdrec: Number((par.wall.kdrec / one.wall.kdrec).toFixed(2)),
        torch: Number((par.wall.torch / one.wall.torch).toFixed(2)),
      };
const summary = {
  runs,
  speedup,
  kernels: kernels.name,
  blas: kernels.blas ?? null,
  openblasCoretype: coretype || null,
  torch: probe.stdout.trim(),
  cpu: doctor.cpu,
  cores: doctor.cores,
  results,
};
if (asJson) {
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} else {
  console.log(
    `kdrec (kernels ${kernels.name}) vs PyTorch ${summary.torch}, ${runs} alternating runs each, medians; ratio > 1 = kdrec faster`,
  );
  console.log(
    `machine: ${doctor.cpu} x ${doctor.cores}; OPENBLAS_CORETYPE=${coretype || '(auto)'}; one thread each`,
  );
  if (speedup !== null) {
    console.log(
      `  data-parallel speed-up over one thread (wall medians, ${parallel} ways): kdrec ${speedup.kdrec}x, pytorch DDP ${speedup.torch}x`,
    );
  }
  for (const r of results) {
    for (const clock of ['wall', 'cpu']) {
      const c = r[clock];
      const label = `${r.bench} [${clock}]`.padEnd(54);
      if (c === null) console.log(`  ${label} (not reported by both sides)`);
      else
        console.log(
          `  ${label} kdrec ${String(c.kdrec).padStart(9)}  pytorch ${String(c.torch).padStart(9)}  ratio ${c.ratio.toFixed(2)}`,
        );
    }
  }
}
