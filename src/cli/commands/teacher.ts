/**
 * `kdrec teacher train` and `kdrec teacher score`: the two halves of two-stage distillation's first
 * stage. `teacher train` trains only the config's teacher, on exposure samples. `teacher score`
 * writes that teacher's logits for the student's sample set (recall samples: clicks plus random
 * catalogue negatives the teacher never saw as exposures), and reports the teacher's AUC and
 * calibration on the validation split's samples as a selection-bias diagnostic: the teacher learnt
 * from what the logging policy chose to show, and is now asked to label the whole catalogue.
 */
import type { Command } from 'commander';
import { parseDatasetSpec } from '../../data/loaders/index.js';
import { loadWorld } from '../../data/simulator.js';
import { parseShard } from '../../data/stream.js';
import { auc } from '../../eval/metrics/auc.js';
import { calibration } from '../../eval/metrics/calibration.js';
import { parseConfig } from '../../run/config.js';
import { loadConfigDataset } from '../../run/dataset.js';
import { readRunConfig } from '../../run/runDir.js';
import { streamsFromParquet } from '../../train/data.js';
import { teacherOnly, teacherScoreRun, teacherScoreStreamedRun } from '../../train/run.js';
import { intOption } from '../intOption.js';
import { joinMpiJob, shardOfJob } from '../mpiJob.js';
import { type TrainFlags, trainAndPrint } from './train.js';

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

export function register(program: Command): void {
  const teacher = program
    .command('teacher')
    .description(
      'Two-stage distillation, stage one: train the ranking teacher, then score the student samples with it.',
    );

  teacher
    .command('train')
    .summary("train only the config's teacher, on exposure samples")
    .description(
      "Train only the config's teacher on exposure samples (the config's mode is ignored) and write a\n" +
        'run directory like `kdrec train` does.',
    )
    .requiredOption('--config <file>', 'experiment config (.yaml, .yml or .json) with a teacher block')
    .option('--run-dir <dir>', 'run directory (default <outDir>/<name>-teacher-<UTC time>)')
    .option('--resume', 'continue the run in --run-dir from its latest checkpoint')
    .option(
      '--threads <n>',
      "data-parallel training threads (overrides the config's threads)",
      intOption('--threads'),
    )
    .option('--quiet', 'no progress bar or per-eval lines')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  kdrec teacher train --config examples/two-stage.yaml --run-dir runs/ts-teacher\n' +
        '  kdrec teacher train --config examples/dmtl.yaml   # an MMoE+ESMM teacher alone\n',
    )
    .action((o: TrainFlags) => trainAndPrint('teacher', teacherOnly, o));

  teacher
    .command('score')
    .summary('write teacher logits for the student samples; print AUC and calibration on random negatives')
    .description(
      "Write the teacher's logits (one column per output, teacher_<output>) for every training sample\n" +
        'of the chosen kind, to distil a two-stage student from. Prints AUC and calibration of the teacher\n' +
        'on the validation samples, separately on the random negatives it never saw as exposures\n' +
        '(and, on the simulator, against the true click probability of those pairs).',
    )
    .requiredOption('--run <dir>', 'a teacher run directory (from `kdrec teacher train`)')
    .option('--samples <kind>', 'recall (clicks + random negatives) or exposure', 'recall')
    .requiredOption(
      '--out <file>',
      'output file (safetensors); for a streamed prepared dataset, a folder of parts',
    )
    .option(
      '--shard <i/n>',
      'streamed prepared dataset: score shard i of n of the training split (one part per shard)',
    )
    .option('--json', 'print the diagnostic as one JSON line')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  kdrec teacher score --run runs/ts-teacher --samples recall --out runs/ts-teacher/scores.safetensors\n' +
        '  kdrec train --config examples/two-stage.yaml --teacher-scores runs/ts-teacher/scores.safetensors\n' +
        '  kdrec teacher score --run runs/stream-teacher --out runs/stream-teacher/scores --shard 0/2   # prepared, streamed\n',
    )
    .action(async (o: { run: string; samples: string; out: string; shard?: string; json?: boolean }) => {
      if (o.samples !== 'recall' && o.samples !== 'exposure') {
        throw new Error(`option --samples: '${o.samples}' is not one of recall, exposure`);
      }
      const cfg = parseConfig(readRunConfig(o.run), `${o.run}/config.json`);
      // Under mpirun every rank scores its shard (rank/size) and writes its part.
      const mpi = joinMpiJob('kdrec teacher score');
      const shard = shardOfJob(mpi, o.shard !== undefined ? parseShard(o.shard) : undefined);
      if (streamsFromParquet(cfg)) {
        // Streamed: the training split's exposures, a window at a time, one Parquet part per shard.
        const r = await teacherScoreStreamedRun(o.run, {
          out: o.out,
          ...(shard !== undefined ? { shard } : {}),
        });
        process.stdout.write(
          o.json ? `${JSON.stringify(r)}\n` : `wrote ${r.rows} rows × ${r.columns.join(', ')} to ${r.file}\n`,
        );
        mpi?.finalize();
        return;
      }
      if (shard !== undefined)
        throw new Error(
          '--shard (or mpirun): only a streamed prepared dataset (dataset.spec prepared:DIR) is scored by shards',
        );
      const dataset = await loadConfigDataset(cfg);
      const res = await teacherScoreRun(o.run, { samples: o.samples, out: o.out, dataset });
      const d = res.diagnostic;
      const p = Float32Array.from(d.logits, sigmoid);
      const cal = calibration(d.labels, p, { strategy: 'quantile' });
      const report: Record<string, unknown> = {
        rows: res.rows,
        columns: res.columns,
        out: o.out,
        validation: {
          output: d.output,
          label: d.label,
          rows: d.logits.length,
          auc: auc(d.labels, d.logits),
          calibrationRatio: cal.ratio,
          ece: cal.ece,
        },
      };
      const negIdx: number[] = [];
      for (let i = 0; i < d.isRandomNegative.length; i++) if (d.isRandomNegative[i] === 1) negIdx.push(i);
      if (negIdx.length > 0) {
        let sumP = 0;
        for (const i of negIdx) sumP += p[i]!;
        const negReport: Record<string, number> = {
          rows: negIdx.length,
          meanPredicted: sumP / negIdx.length,
        };
        // On the simulator the true p(click) of every (user, item) is known: compare. The world's
        // short-term state is left empty here, so this is the pair's base click probability.
        const spec = parseDatasetSpec(cfg.dataset.spec);
        if (spec.kind === 'sim' && spec.path !== undefined) {
          const world = loadWorld(spec.path);
          let truth = 0;
          for (const i of negIdx) {
            truth += world.pClick(
              Number(dataset.userIds[d.userKey[i]!]),
              Number(dataset.itemIds[d.itemKey[i]!]),
            );
          }
          negReport['meanTrueClick'] = truth / negIdx.length;
          negReport['ratioPredictedToTrue'] = negReport['meanPredicted']! / negReport['meanTrueClick']!;
        }
        report['randomNegatives'] = negReport;
      }
      if (o.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
        return;
      }
      process.stdout.write(
        `wrote ${res.rows} rows × ${res.columns.join(', ')} to ${o.out}\n` +
          `teacher on validation ${res.samples} samples (${d.logits.length} rows): ${d.output} AUC vs ${d.label} ` +
          `${auc(d.labels, d.logits).toFixed(4)}, predicted/observed ${cal.ratio.toFixed(2)}, ECE ${cal.ece.toFixed(4)}\n`,
      );
      const n = report['randomNegatives'] as Record<string, number> | undefined;
      if (n !== undefined) {
        process.stdout.write(
          `random negatives (never exposed, ${n['rows']} rows): mean predicted p(click) ${n['meanPredicted']!.toFixed(4)}` +
            (n['meanTrueClick'] !== undefined
              ? `, true ${n['meanTrueClick'].toFixed(4)} (ratio ${n['ratioPredictedToTrue']!.toFixed(2)}; > 1 over-predicts)`
              : '') +
            '\n',
        );
      }
    });
}
