/**
 * `kdrec cascade eval --run RUN [--prerank-run RUN2] [--rank-run RUN3]`: end-to-end quality of the
 * recall → pre-rank → rank cascade on the test users (src/eval/cascadeEval.ts): the final top K of
 * recall alone, recall + pre-rank and the full cascade, against the simulator's ground truth and the
 * held-out test clicks, and how much of the ranker's ideal top K survives each stage.
 */
import type { Command } from 'commander';
import { CASCADE_VARIANTS, cascadeEvalRun } from '../../eval/cascadeEval.js';
import { intOption } from '../intOption.js';

export function register(program: Command): void {
  const cascade = program.command('cascade').description('Evaluate the recall → pre-rank → rank cascade.');
  cascade
    .command('eval')
    .summary('end-to-end top-K quality per cascade stage, and survival of the ranker’s ideal top K')
    .requiredOption('--run <dir>', 'run with the two-tower recall model')
    .option('--prerank-run <dir>', 'run whose prerank-mlp student pre-ranks')
    .option('--rank-run <dir>', 'run whose teacher ranks (default: the teacher of --prerank-run or --run)')
    .option('--n <n>', 'recall candidates N', intOption('--n'), 500)
    .option('--m <n>', 'kept after pre-ranking M', intOption('--m'), 100)
    .option('--k <n>', 'final list length K', intOption('--k'), 10)
    .option('--users <n>', 'test users evaluated', intOption('--users'), 200)
    .option('--seed <n>', 'seed of the user sample', intOption('--seed'), 1)
    .option('--json', 'print the result as one JSON line')
    .action(
      async (o: {
        run: string;
        prerankRun?: string;
        rankRun?: string;
        n: number;
        m: number;
        k: number;
        users: number;
        seed: number;
        json?: boolean;
      }) => {
        const res = await cascadeEvalRun({
          run: o.run,
          ...(o.prerankRun !== undefined ? { prerankRun: o.prerankRun } : {}),
          ...(o.rankRun !== undefined ? { rankRun: o.rankRun } : {}),
          users: o.users,
          sizes: { n: o.n, m: o.m, k: o.k },
          seed: o.seed,
          log: o.json ? undefined : (m) => process.stderr.write(`${m}\n`),
        });
        if (o.json) {
          process.stdout.write(`${JSON.stringify(res)}\n`);
          return;
        }
        const metrics = Object.keys(res.variants.full);
        const row = (name: string, r: Record<string, number>) =>
          `${name.padEnd(16)}${metrics.map((m) => (r[m] ?? Number.NaN).toFixed(4).padStart(16)).join('')}`;
        const lines = [
          `models: recall ${res.models.recall}; pre-rank ${res.models.prerank ?? 'none'}; rank ${res.models.rank}`,
          `N ${res.sizes.n}, M ${res.sizes.m}, K ${res.sizes.k}, ${res.users} users`,
          `${'final top K'.padEnd(16)}${metrics.map((m) => m.padStart(16)).join('')}`,
          ...CASCADE_VARIANTS.map((v) => row(v, res.variants[v])),
          row('ranker alone', res.rankerAlone),
          ...(res.oracle ? [row('oracle', res.oracle)] : []),
          `ranker's ideal top ${res.sizes.k} surviving: recall ${res.survival.recall.toFixed(3)}, pre-rank ${res.survival.prerank.toFixed(3)}, final ${res.survival.final.toFixed(3)}`,
          res.protocol,
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      },
    );
}
