/**
 * `kdrec demo` (`npm run demo`): the README's first command. No data, no network: it simulates a
 * small world, runs the experiment matrix of examples/experiment.yaml at the size its `demo` block
 * sets (a few minutes on 2 cores), prints the comparison table and says where the report is.
 */
import type { Command } from 'commander';
import { applyDemo, defaultExperimentConfigPath, loadExperimentConfig } from '../../eval/experiment.js';
import { intOption } from '../intOption.js';
import { runAndReport } from './experiment.js';

export function register(program: Command): void {
  program
    .command('demo')
    .summary('simulate a small world and compare distilled students with a plain one (no data needed)')
    .description(
      'Simulate a small world (users, items, clicks, long dwells with known ground truth), train the ' +
        'ranking teacher, the plain student and the distilled students of examples/experiment.yaml at ' +
        "the size of its 'demo' block, then print the comparison table and write report.html. " +
        'Re-running with the same --out reuses the finished cells.',
    )
    .option('--out <dir>', 'output directory (simulated world, cells, results.json, report)', 'runs/demo')
    .option('--seeds <n>', "seeds 1..n (default: the config's demo.seeds, else 1)")
    .option('--config <file>', 'matrix config (default: examples/experiment.yaml)')
    .option('--threads <n>', 'data-parallel training threads per cell', intOption('--threads'))
    .option('--quiet', 'no progress output')
    .action(
      async (o: { out: string; seeds?: string; config?: string; threads?: number; quiet?: boolean }) => {
        const configFile = o.config ?? defaultExperimentConfigPath();
        const { config, seeds } = applyDemo(loadExperimentConfig(configFile));
        let n = seeds;
        if (o.seeds !== undefined) {
          n = intOption('--seeds')(o.seeds);
        }
        await runAndReport({
          dataset: 'sim',
          outDir: o.out,
          seeds: n,
          config,
          configFile,
          quiet: o.quiet ?? false,
          ...(o.threads !== undefined ? { threads: o.threads } : {}),
        });
      },
    );
}
