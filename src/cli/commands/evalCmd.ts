/**
 * `kdrec eval --run RUN`: AUC, GAUC and LogLoss of a run's models over a whole split, streamed
 * (src/eval/streamEval.ts); `--shard i/n` evaluates one shard and `--scores-out` writes its rows.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { SPLIT_NAMES, type SplitName } from '../../data/dataset.js';
import { shardPartName } from '../../data/shardParts.js';
import { parseShard } from '../../data/stream.js';
import { evaluateRunStreamed } from '../../eval/streamEval.js';
import { joinMpiJob, shardOfJob } from '../mpiJob.js';

export function register(program: Command): void {
  program
    .command('eval')
    .description(
      "Score a trained run's teacher and student over a whole split and print AUC, GAUC and LogLoss per\n" +
        'output. A prepared dataset (prepared:DIR) is streamed from Parquet; memory holds 12 bytes per row.',
    )
    .requiredOption('--run <dir>', 'a run directory')
    .option('--split <name>', 'train, valid or test', 'test')
    .option('--shard <i/n>', 'evaluate shard i of n (row groups k ≡ i mod n)')
    .option(
      '--scores-out <file>',
      "write the shard's rows (sample id, user key, labels, scores) as CSV; under mpirun a folder of part-I-of-N.csv",
    )
    .option('--json', 'print one JSON line')
    .addHelpText(
      'after',
      '\nExamples:\n  kdrec eval --run runs/stream-1\n  kdrec eval --run runs/stream-1 --shard 0/4 --scores-out s0.csv --json\n',
    )
    .action(async (o: { run: string; split: string; shard?: string; scoresOut?: string; json?: boolean }) => {
      if (!(SPLIT_NAMES as readonly string[]).includes(o.split))
        throw new Error(`--split '${o.split}': expected one of ${SPLIT_NAMES.join(', ')}`);
      // Under mpirun every rank evaluates its shard (rank/size); --scores-out is then a folder of parts.
      const mpi = joinMpiJob('kdrec eval');
      const shard = shardOfJob(mpi, o.shard !== undefined ? parseShard(o.shard) : undefined);
      let scoresOut = o.scoresOut;
      if (mpi !== null && scoresOut !== undefined && shard !== undefined) {
        mkdirSync(scoresOut, { recursive: true });
        scoresOut = join(scoresOut, shardPartName(shard, 'csv'));
      }
      const r = await evaluateRunStreamed({
        run: o.run,
        split: o.split as SplitName,
        ...(shard !== undefined ? { shard } : {}),
        ...(scoresOut !== undefined ? { scoresOut } : {}),
        ...(o.json ? {} : { log: (m: string) => process.stderr.write(`${m}\n`) }),
      });
      if (o.json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        mpi?.finalize();
        return;
      }
      const f = (x: number | null) => (x === null ? '-' : x.toFixed(4));
      const lines = [`${r.run} on ${r.split} (shard ${r.shard}): ${r.rows} rows in ${r.seconds} s`];
      for (const [role, outs] of Object.entries(r.models))
        for (const [o2, m] of Object.entries(outs))
          lines.push(
            `  ${role}.${o2} vs ${m.label}: AUC ${f(m.auc)}  GAUC ${f(m.gauc)}  LogLoss ${f(m.logloss)}`,
          );
      process.stdout.write(`${lines.join('\n')}\n`);
      mpi?.finalize();
    });
}
