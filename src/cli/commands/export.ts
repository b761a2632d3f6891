/**
 * `kdrec export --run RUN --out DIR [--prerank-run RUN2] [--rank-run RUN3]`: writes the serving
 * directory of a trained two-tower recall model (and optionally a pre-ranker and a ranker) — graphs, weights, catalogue item
 * vectors and manifest — that `kdrec index build` and `kdrec serve` load without the training code.
 */
import type { Command } from 'commander';
import { parseShard } from '../../data/stream.js';
import { exportItemVectorsRun, exportRun } from '../../serve/exportRun.js';
import { joinMpiJob, shardOfJob } from '../mpiJob.js';

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
    .option(
      '--vectors-only',
      "write only the item vectors, as OUT/part-I-of-N.parquet (item_id, row, v0..); with --shard or under mpirun, one shard's",
    )
    .option('--shard <i/n>', 'with --vectors-only: catalogue rows k ≡ i (mod n)')
    .addHelpText(
      'after',
      '\nExamples:\n  kdrec export --run runs/plain-two-tower-XXXX --prerank-run runs/hint-prerank-XXXX --out exports/v1\n' +
        '  mpirun -np 4 kdrec export --run runs/stream-1 --vectors-only --out exports/v1-vectors   # 4 parts\n',
    )
    .action(
      async (o: {
        run: string;
        out: string;
        prerankRun?: string;
        rankRun?: string;
        vectorsOnly?: boolean;
        shard?: string;
      }) => {
        const mpi = joinMpiJob('kdrec export');
        const shard = shardOfJob(mpi, o.shard !== undefined ? parseShard(o.shard) : undefined);
        if (o.vectorsOnly) {
          if (o.prerankRun !== undefined || o.rankRun !== undefined)
            throw new Error('--vectors-only writes item vectors only: drop --prerank-run and --rank-run');
          const r = await exportItemVectorsRun({
            run: o.run,
            out: o.out,
            shard: shard ?? { index: 0, count: 1 },
            log: (msg) => process.stderr.write(`${msg}\n`),
          });
          process.stdout.write(`wrote ${r.rows} item vectors × dim ${r.dim} to ${r.file}\n`);
          mpi?.finalize();
          return;
        }
        if (shard !== undefined)
          throw new Error(
            '--shard (or mpirun): only --vectors-only is split by shards; a whole export is written by one process',
          );
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
      },
    );
}
