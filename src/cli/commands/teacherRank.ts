/**
 * `kdrec teacher rank`: writes teacher-ranked lists for rank distillation (issue 5, item 1). For a
 * seeded sample of training requests, a candidate set (random catalogue items and/or the top items
 * of a trained student) is scored by a trained teacher, sorted, optionally re-ranked by a business
 * rule, cut to N items and written as (request_id, user, item, rank, teacher_score) rows to CSV or
 * Parquet. A student run then reads them with `rankDistill.lists.file`.
 *
 * Registered as a subcommand of the `teacher` command (src/cli/commands/teacher.ts), which must be
 * registered first.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { shardPartName } from '../../data/shardParts.js';
import { parseShard } from '../../data/stream.js';
import { buildRankLists, sampleRequestRows, writeRankLists } from '../../distill/rankLists.js';
import { itemAttribute, type Reranker, rerankerFromSpec, satisfiedTopK } from '../../distill/rerank.js';
import { Rng } from '../../engine/rng.js';
import { parseConfig } from '../../run/config.js';
import { loadConfigDataset } from '../../run/dataset.js';
import { loadRun } from '../../run/loadRun.js';
import { readRunConfig } from '../../run/runDir.js';
import { intOption } from '../intOption.js';
import { joinMpiJob, shardOfJob } from '../mpiJob.js';

/** `diversity:FIELD:M:K` or `dedup:FIELD`. */
export function parseRerankOption(v: string): { kind: string } & Record<string, unknown> {
  const p = v.split(':');
  if (p[0] === 'diversity' && p.length === 4) {
    return {
      kind: 'diversity',
      field: p[1]!,
      maxPerCategory: intOption('--rerank (M)', 1)(p[2]!),
      topK: intOption('--rerank (K)', 1)(p[3]!),
    };
  }
  if (p[0] === 'dedup' && p.length === 2) return { kind: 'dedup', field: p[1]! };
  throw new Error(
    `option --rerank: '${v}' must be diversity:FIELD:M:K (e.g. diversity:category:2:10) or dedup:FIELD (e.g. dedup:shop)`,
  );
}

interface RankOptions {
  run: string;
  out: string;
  requests: string;
  random: string;
  retrieved: string;
  retrievalPool: string;
  studentRun?: string;
  length: string;
  rerank?: string;
  output?: string;
  seed: string;
  shard?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const teacher = program.commands.find((c) => c.name() === 'teacher');
  if (teacher === undefined)
    throw new Error('teacher rank: the `teacher` command must be registered before it');
  teacher
    .command('rank')
    .summary('write teacher-ranked lists (request, user, item, rank, score) for rank distillation')
    .description(
      'Score a candidate set per sampled training request with a trained teacher, sort it, optionally\n' +
        're-rank it (diversity by category, de-duplication by shop) and write the top N as\n' +
        'request_id,user,item,rank,teacher_score rows (.csv or .parquet). Train a student on them with\n' +
        'rankDistill.lists.file in its config.',
    )
    .requiredOption('--run <dir>', 'a teacher run directory (from `kdrec teacher train`)')
    .requiredOption('--out <file>', 'output file, .csv or .parquet')
    .option('--requests <n>', 'requests (training rows, one per request id) to rank', '500')
    .option('--random <n>', 'random catalogue candidates per request', '200')
    .option('--retrieved <n>', 'candidates retrieved by the student of --student-run (its top items)', '0')
    .option('--retrieval-pool <n>', 'catalogue items the student scores to retrieve from', '1000')
    .option('--student-run <dir>', 'a run with a trained student, for --retrieved')
    .option('--length <n>', 'items kept per list (N)', '50')
    .option('--rerank <rule>', 'diversity:FIELD:M:K (at most M per FIELD value in the top K) or dedup:FIELD')
    .option('--output <name>', "teacher output that scores (default: the teacher's first output)")
    .option('--seed <n>', 'seed of the request and candidate samples', '1')
    .option(
      '--shard <i/n>',
      "rank every n-th of the sampled requests (the i-th); --out is then a folder of part-I-of-N.parquet (under mpirun: each rank's)",
    )
    .option('--json', 'print the summary as one JSON line')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  kdrec teacher rank --run runs/rank-teacher --out runs/rank-teacher/lists.parquet --requests 2000 --random 200 --length 50\n' +
        '  kdrec teacher rank --run runs/rank-teacher --out lists.csv --rerank diversity:category:2:10\n',
    )
    .action(async (o: RankOptions) => {
      const mpi = joinMpiJob('kdrec teacher rank');
      const shard = shardOfJob(mpi, o.shard !== undefined ? parseShard(o.shard) : undefined);
      const cfg = parseConfig(readRunConfig(o.run), `${o.run}/config.json`);
      const ds = await loadConfigDataset(cfg);
      const run = loadRun(o.run, ds.schema, { labels: ds.labels });
      if (run.teacher === null) throw new Error(`${o.run}: mode '${run.config.mode}' has no trained teacher`);
      const retrieved = intOption('--retrieved', 0)(o.retrieved);
      let student = null;
      if (retrieved > 0) {
        if (o.studentRun === undefined) throw new Error('option --retrieved > 0 needs --student-run DIR');
        const s = loadRun(o.studentRun, ds.schema, { labels: ds.labels });
        if (s.student === null)
          throw new Error(`${o.studentRun}: mode '${s.config.mode}' has no trained student`);
        student = { model: s.student, output: s.student.outputNames[0]! };
      }
      const output = o.output ?? run.teacher.outputNames[0]!;
      const rerankSpec = o.rerank !== undefined ? parseRerankOption(o.rerank) : null;
      const rerank: Reranker | null = rerankSpec !== null ? rerankerFromSpec(rerankSpec, ds) : null;
      const rng = new Rng(intOption('--seed', 0)(o.seed));
      const split = ds.splits.train;
      const t0 = performance.now();
      // Every shard draws the same request sample (same seed) and keeps its k ≡ i (mod n): the parts
      // hold each sampled request once. Candidates come from a stream of the shard's own.
      let requestRows = sampleRequestRows(
        split,
        intOption('--requests', 1)(o.requests),
        rng.fork('requests'),
      );
      let candRng = rng.fork('candidates');
      let out = o.out;
      if (shard !== undefined) {
        requestRows = requestRows.filter((_, k) => k % shard.count === shard.index);
        candRng = candRng.fork(`shard-${shard.index}-of-${shard.count}`);
        mkdirSync(o.out, { recursive: true });
        out = join(o.out, shardPartName(shard, 'parquet'));
      }
      const lists = buildRankLists(ds, {
        split,
        requestRows,
        candidates: {
          random: intOption('--random', 0)(o.random),
          retrieved,
          retrievalPool: intOption('--retrieval-pool', 1)(o.retrievalPool),
        },
        length: intOption('--length', 2)(o.length),
        teacher: { model: run.teacher, output },
        student,
        rerank,
        rng: candRng,
      });
      await writeRankLists(out, lists, ds);
      const L = lists.requestRow.length;
      const summary: Record<string, unknown> = {
        out,
        lists: L,
        length: lists.length,
        rows: L * lists.length,
        teacherOutput: output,
        seconds: Number(((performance.now() - t0) / 1000).toFixed(2)),
      };
      if (rerankSpec !== null && rerankSpec.kind === 'diversity') {
        const cat = itemAttribute(ds, String(rerankSpec['field']));
        const m = Number(rerankSpec['maxPerCategory']);
        const k = Math.min(Number(rerankSpec['topK']), lists.length);
        let ok = 0;
        for (let l = 0; l < L; l++) {
          if (satisfiedTopK(lists.items.subarray(l * lists.length, (l + 1) * lists.length), cat, m, k) === k)
            ok++;
        }
        summary['rerankSatisfied'] = ok / L;
      }
      mpi?.finalize();
      if (o.json) {
        process.stdout.write(`${JSON.stringify(summary)}\n`);
        return;
      }
      process.stdout.write(
        `wrote ${L} lists × ${lists.length} items (${L * lists.length} rows) ranked by teacher output '${output}' to ${out} in ${summary['seconds']} s\n` +
          (summary['rerankSatisfied'] !== undefined
            ? `re-rank rule holds in the top ${Math.min(Number(rerankSpec!['topK']), lists.length)} of ${((summary['rerankSatisfied'] as number) * 100).toFixed(1)}% of lists (the rest have too few categories among their candidates)\n`
            : ''),
      );
    });
}
