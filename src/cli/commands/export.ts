/**
 * `kdrec export --run RUN --out DIR [--prerank-run RUN2] [--rank-run RUN3]`: writes the serving
 * directory of a trained two-tower recall model (and optionally a pre-ranker and a ranker) — graphs, weights, catalogue item
 * vectors and manifest — that `kdrec index build` and `kdrec serve` load without the training code.
 * `--web WEB` also writes the static in-browser page of the recall student from that export
 * (src/serve/webExport.ts); without `--run`, from the existing export at `--out`.
 */
import type { Command } from 'commander';
import { parseShard } from '../../data/stream.js';
import { exportItemVectorsRun, exportRun } from '../../serve/exportRun.js';
import { writeWebPage } from '../../serve/webExport.js';
import { intOption } from '../intOption.js';
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
    .option(
      '--run <dir>',
      'run directory with a two-tower student (or teacher); required unless --web reads an existing --out',
    )
    .requiredOption('--out <dir>', 'export directory to write (with --web and no --run: the export to read)')
    .option('--prerank-run <dir>', 'run directory whose prerank-mlp student becomes the pre-ranker')
    .option('--rank-run <dir>', 'run directory whose ranking-dnn teacher becomes the ranker (third stage)')
    .option(
      '--vectors-only',
      "write only the item vectors, as OUT/part-I-of-N.parquet (item_id, row, v0..); with --shard or under mpirun, one shard's",
    )
    .option('--shard <i/n>', 'with --vectors-only: catalogue rows k ≡ i (mod n)')
    .option(
      '--web <dir>',
      'also write a static page that runs the recall student in the browser (ONNX user tower on onnxruntime-web, user state from the clicks); serve the directory over HTTP',
    )
    .option(
      '--web-users <n>',
      'with --web: known users offered in the page (default 20)',
      intOption('--web-users'),
    )
    .option('--web-k <n>', 'with --web: recommendations shown (default 10)', intOption('--web-k'))
    .addHelpText(
      'after',
      '\nExamples:\n  kdrec export --run runs/plain-two-tower-XXXX --prerank-run runs/hint-prerank-XXXX --out exports/v1\n' +
        '  mpirun -np 4 kdrec export --run runs/stream-1 --vectors-only --out exports/v1-vectors   # 4 parts\n' +
        '  kdrec export --out exports/v1 --web web/v1 && python3 -m http.server -d web/v1 8000   # page of an export\n',
    )
    .action(
      async (o: {
        run?: string;
        out: string;
        web?: string;
        webUsers?: number;
        webK?: number;
        prerankRun?: string;
        rankRun?: string;
        vectorsOnly?: boolean;
        shard?: string;
      }) => {
        const web = () => {
          if (o.web === undefined) return;
          const w = writeWebPage({
            exportDir: o.out,
            out: o.web,
            ...(o.webUsers !== undefined ? { users: o.webUsers } : {}),
            ...(o.webK !== undefined ? { k: o.webK } : {}),
            log: (msg) => process.stderr.write(`${msg}\n`),
          });
          process.stdout.write(
            `wrote the in-browser page (${w.itemCount} items × dim ${w.dim}) to ${o.web}; serve it over HTTP, e.g. python3 -m http.server -d ${o.web}\n`,
          );
        };
        if (o.run === undefined) {
          if (o.web === undefined)
            throw new Error(
              "required option '--run <dir>' not specified (only --web can read an existing --out export)",
            );
          if (o.prerankRun !== undefined || o.rankRun !== undefined || o.vectorsOnly || o.shard !== undefined)
            throw new Error(
              '--web without --run builds the page of the existing export at --out: drop the other options',
            );
          web();
          return;
        }
        if ((o.webUsers !== undefined || o.webK !== undefined) && o.web === undefined)
          throw new Error('--web-users and --web-k need --web');
        const run = o.run;
        const mpi = joinMpiJob('kdrec export');
        const shard = shardOfJob(mpi, o.shard !== undefined ? parseShard(o.shard) : undefined);
        if (o.vectorsOnly) {
          if (o.prerankRun !== undefined || o.rankRun !== undefined || o.web !== undefined)
            throw new Error(
              '--vectors-only writes item vectors only: drop --prerank-run, --rank-run and --web',
            );
          const r = await exportItemVectorsRun({
            run,
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
          run,
          out: o.out,
          ...(o.prerankRun !== undefined ? { prerankRun: o.prerankRun } : {}),
          ...(o.rankRun !== undefined ? { rankRun: o.rankRun } : {}),
          log: (msg) => process.stderr.write(`${msg}\n`),
        });
        process.stdout.write(
          `exported ${m.itemCount} items × dim ${m.dim} (${m.scoreFn}${m.scoreFn === 'cosine' ? `, τ ${m.temperature}` : ''})` +
            `${m.files.prerank ? ' + pre-ranker' : ''}${m.files.rank ? ' + ranker' : ''} to ${o.out}\n`,
        );
        web();
      },
    );
}
