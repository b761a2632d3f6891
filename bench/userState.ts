/**
 * Issue 9 benchmark: popularity, plain and distilled students, with and without as-of-request user
 * state, over several seeds, on one dataset. Runs (or resumes) the experiment matrix of a config
 * (examples/userstate-ml100k.yaml, examples/userstate-sim.yaml) and prints the tables BENCHMARKS.md
 * quotes:
 *   1. ranking metrics per model (mean ± std over seeds), split by test users with and without
 *      training history (cold-start honesty), and whether the model beats popularity on NDCG@K in
 *      every seed;
 *   2. paired per-seed comparisons: every student against `plain`, and each `X-state` against `X`.
 *      "beyond seed noise" only where the sign of the difference is the same in every seed.
 *
 *   npx tsx bench/userState.ts --config examples/userstate-ml100k.yaml \
 *     --dataset movielens-100k:../shared/data/movielens-100k --out runs/us-ml100k --seeds 3
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type CellRecord,
  cellPath,
  loadExperimentConfig,
  pairedComparison,
  runExperiment,
} from '../src/eval/experiment.js';
import { type Results, writeResults } from '../src/eval/results.js';

function fmt(x: number | undefined, digits = 4): string {
  return x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits);
}

/** The markdown tables of one experiment's results. */
export function userStateTables(results: Results, k: number): string {
  const ndcg = `NDCG@${k}`;
  const recall = `Recall@${k}`;
  const truth = `trueClicks@${k}`;
  const hasTruth = results.models.some((m) => truth in m.metrics);
  const cols = [
    ndcg,
    recall,
    `${ndcg} (warm)`,
    `${ndcg} (cold)`,
    `${recall} (warm)`,
    `${recall} (cold)`,
    ...(hasTruth ? [truth] : []),
    'AUC',
  ];
  const pop = results.models.find((m) => m.name === 'popularity');
  const lines: string[] = [];
  lines.push(`| model | ${cols.join(' | ')} | beats popularity on ${ndcg} |`);
  lines.push(`|---|${cols.map(() => '---').join('|')}|---|`);
  for (const m of results.models) {
    const cells = cols.map((c) => {
      const s = m.metrics[c];
      return s === undefined ? '–' : `${fmt(s.mean)} ± ${fmt(s.std)}`;
    });
    let beats = '–';
    if (pop !== undefined && m.name !== 'popularity' && m.metrics[ndcg] && pop.metrics[ndcg]) {
      const p = pairedComparison(m.metrics[ndcg].perSeed, pop.metrics[ndcg].perSeed);
      beats =
        p.verdict === 'better'
          ? 'yes (every seed)'
          : p.verdict === 'worse'
            ? '**no** (every seed)'
            : 'not in every seed';
    }
    lines.push(`| ${m.name} | ${cells.join(' | ')} | ${beats} |`);
  }
  const byName = new Map(results.models.map((m) => [m.name, m]));
  const pairs: [string, string][] = [];
  for (const m of results.models) {
    if (m.role === 'teacher' || m.name === 'popularity' || m.name === 'plain') continue;
    pairs.push([m.name, 'plain']);
    const without = m.name.slice(0, -'-state'.length);
    if (m.name.endsWith('-state') && without !== 'plain' && byName.has(without)) {
      pairs.push([m.name, without]);
      // Does distillation add anything once the student sees the user state?
      if (byName.has('plain-state')) pairs.push([m.name, 'plain-state']);
    }
  }
  lines.push('');
  lines.push(`| comparison | metric | per-seed Δ | mean Δ | verdict |`);
  lines.push('|---|---|---|---|---|');
  for (const [a, b] of pairs) {
    for (const metric of [ndcg, `${ndcg} (warm)`, `${ndcg} (cold)`, recall, ...(hasTruth ? [truth] : [])]) {
      const ma = byName.get(a)?.metrics[metric];
      const mb = byName.get(b)?.metrics[metric];
      if (ma === undefined || mb === undefined) continue;
      // Without cold users the warm split is the whole set: do not repeat it.
      if (metric === `${ndcg} (warm)` && byName.get(a)?.metrics[`${ndcg} (cold)`] === undefined) continue;
      const p = pairedComparison(ma.perSeed, mb.perSeed);
      const verdict = p.verdict === 'within seed noise' ? p.verdict : `${p.verdict}, beyond seed noise`;
      lines.push(
        `| ${a} vs ${b} | ${metric} | ${p.deltas.map((d) => (d >= 0 ? '+' : '') + d.toFixed(4)).join(', ')} | ${(p.mean >= 0 ? '+' : '') + p.mean.toFixed(4)} | ${verdict} |`,
      );
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      dataset: { type: 'string' },
      out: { type: 'string' },
      seeds: { type: 'string', default: '3' },
    },
  });
  if (!values.config || !values.dataset || !values.out)
    throw new Error('usage: bench/userState.ts --config FILE --dataset SPEC --out DIR [--seeds N]');
  const cfg = loadExperimentConfig(values.config);
  const seeds = Array.from({ length: Number(values.seeds) }, (_, i) => i + 1);
  const t0 = performance.now();
  const outcome = await runExperiment({
    dataset: values.dataset,
    outDir: values.out,
    seeds,
    config: cfg,
    configFile: values.config,
    events: {
      log: (m) => process.stderr.write(`${m}\n`),
      cellEnd: (c, r, reused) =>
        process.stderr.write(
          `[${c.index}/${c.count}] ${c.model} seed ${c.seed} ${reused ? '(reused)' : ''} ${r.trainSeconds.toFixed(0)} s NDCG@${cfg.eval.k ?? 50} ${fmt(r.metrics[`NDCG@${cfg.eval.k ?? 50}`])}\n`,
        ),
    },
  });
  writeResults(join(values.out, 'results.json'), outcome.results);
  const k = cfg.eval.k ?? 50;
  const protocol = (outcome.results.config['evaluation'] as { protocol?: string }).protocol ?? '';
  process.stdout.write(
    `${outcome.results.dataset.name} · seeds ${seeds.join(', ')} · ${((performance.now() - t0) / 1000).toFixed(0)} s\n\n` +
      `${userStateTables(outcome.results, k)}\n\n${selectionTable(values.out, outcome.results)}\n\nHow measured: ${protocol}\n`,
  );
}

/**
 * Model selection of the joint-mode cells (issue 9, item 4): the selected step, and the validation
 * AUC of the student and of its co-trained teacher at that step, per seed.
 */
function selectionTable(dir: string, results: Results): string {
  const lines = [
    '| model | seed | selected step / steps | student valid AUC | co-trained teacher valid AUC | flag |',
  ];
  lines.push('|---|---|---|---|---|---|');
  for (const m of results.models) {
    for (const seed of results.seeds) {
      const cell = JSON.parse(readFileSync(cellPath(dir, m.name, seed), 'utf8')) as CellRecord;
      const t = cell.training;
      if (t?.coTeacherValidAuc === null || t?.coTeacherValidAuc === undefined) continue;
      const underfit = cell.flags.some((f) =>
        f.startsWith(`seed ${seed}: the co-trained teacher was under-fit`),
      );
      lines.push(
        `| ${m.name} | ${seed} | ${t.selectedStep ?? '–'} / ${t.steps} | ${fmt(t.validAuc ?? undefined)} | ${fmt(t.coTeacherValidAuc)} | ${underfit ? 'teacher under-fit at selection' : ''} |`,
      );
    }
  }
  return lines.length > 2 ? lines.join('\n') : '(no joint-mode students)';
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ''))) {
  main().catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
