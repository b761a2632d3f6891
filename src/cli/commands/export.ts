/**
 * `kdrec export --run RUN --out DIR [--prerank-run RUN2] [--rank-run RUN3]`: writes the serving
 * directory of a trained two-tower recall model (and optionally a pre-ranker and a ranker) — graphs, weights, catalogue item
 * vectors and manifest — that `kdrec index build` and `kdrec serve` load without the training code.
 */
import type { Command } from 'commander';
import { exportRun } from '../../serve/exportRun.js';

export function register(program: Command): void {
  program
    .command('export')
    .summary('write a serving directory from a trained run')
    .description(
      'Export the two-tower model of a run (user tower, item tower, catalogue item vectors) and\n' +
        'optionally the prerank-mlp student of another run on the same dataset and the ranking-dnn\n' +
        'teacher of a run as the ranker (its privileged window counts are recomputed online from\n' +
        '/events), as safetensors weights,\n' +
        'JSON graphs and a manifest (schema, vocabularies, score function, temperature, versions).',
    )
    .requiredOption('--run <dir>', 'run directory with a two-tower student (or teacher)')
    .requiredOption('--out <dir>', 'export directory to write')
    .option('--prerank-run <dir>', 'run directory whose prerank-mlp student becomes the pre-ranker')
    .option('--rank-run <dir>', 'run directory whose ranking-dnn teacher becomes the ranker (third stage)')
    .addHelpText(
      'after',
      '\nExample:\n  kdrec export --run runs/plain-two-tower-XXXX --prerank-run runs/hint-prerank-XXXX --out exports/v1\n',
    )
    .action(async (o: { run: string; out: string; prerankRun?: string; rankRun?: string }) => {
      const m = await exportRun({
        run: o.run,
        out: o.out,
        ...(o.prerankRun !== undefined ? { prerankRun: o.prerankRun } : {}),
        ...(o.rankRun !== undefined ? { rankRun: o.rankRun } : {}),
        log: (msg) => process.stderr.write(`${msg}\n`),
      });
      process.stdout.write(
        `exported ${m.itemCount} items × dim ${m.dim} (${m.scoreFn}${m.scoreFn === 'cosine' ? `, τ ${m.temperature}` : ''})` +
          `${m.files.prerank ? ' + pre-ranker' : ''}${m.files.rank ? ' + ranker' : ''} to ${o.out}\n`,
      );
    });
}
