/**
 * `kdrec export --run RUN --out DIR [--prerank-run RUN2] [--rank-run RUN3]`: writes the serving
 * directory of a trained two-tower recall model (and optionally a pre-ranker and a ranker) — graphs, weights, catalogue item
 * vectors and manifest — that `kdrec index build` and `kdrec serve` load without the training code.
 * `--format onnx` also converts every graph to ONNX in `DIR/onnx` (src/serve/onnx/onnxExport.ts),
 * `--triton` lays them out as a Triton model repository; `--from EXPORT` converts an existing export.
 * `--web WEB` also writes the static in-browser page of the recall student from that export (or
 * from `--from EXPORT`; src/serve/webExport.ts).
 */
import type { Command } from 'commander';
import { parseShard } from '../../data/stream.js';
import { exportItemVectorsRun, exportRun } from '../../serve/exportRun.js';
import { writeOnnxExport } from '../../serve/onnx/onnxExport.js';
import { writeWebPage } from '../../serve/webExport.js';
import { intOption } from '../intOption.js';
import { joinMpiJob, shardOfJob } from '../mpiJob.js';

export function register(program: Command): void {
  program
    .command('export')
    .summary('write a serving directory from a trained run')
    .description(
      'Export the two-tower or fm model of a run (user tower, item tower, catalogue item vectors) and\n' +
        'optionally the prerank-mlp or fm student of another run on the same dataset and the\n' +
        'ranking-dnn or mmoe-esmm teacher of a run as the ranker (its privileged window counts are\n' +
        'recomputed online from /events), as safetensors weights,\n' +
        'JSON graphs and a manifest (schema, vocabularies, score function, temperature, versions).\n' +
        'With --format onnx, also one ONNX model per graph and an input manifest in OUT/onnx.',
    )
    .option('--run <dir>', 'run directory with a two-tower or fm student (or teacher)')
    .option('--out <dir>', 'export directory to write (with --from: the ONNX directory, default EXPORT/onnx)')
    .option(
      '--format <format>',
      "'kdrec' (graphs + safetensors) or 'onnx' (that, plus one ONNX model per graph)",
      'kdrec',
    )
    .option(
      '--from <export>',
      'with --format onnx or --web: convert this existing kdrec export instead of exporting runs',
    )
    .option('--triton', 'with --format onnx: also write a Triton model repository (DIR/onnx/triton)')
    .option('--triton-max-batch <n>', 'Triton max_batch_size', '4096')
    .option('--prerank-run <dir>', 'run directory whose prerank-mlp or fm student becomes the pre-ranker')
    .option(
      '--rank-run <dir>',
      'run directory whose ranking-dnn or mmoe-esmm teacher becomes the ranker (third stage)',
    )
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
        '  kdrec export --run runs/plain-two-tower-XXXX --out exports/v1 --format onnx --triton   # + exports/v1/onnx\n' +
        '  kdrec export --from exports/v1 --format onnx                                          # convert an export\n' +
        '  mpirun -np 4 kdrec export --run runs/stream-1 --vectors-only --out exports/v1-vectors   # 4 parts\n' +
        '  kdrec export --from exports/v1 --web web/v1 && python3 -m http.server -d web/v1 8000   # in-browser page\n',
    )
    .action(
      async (o: {
        run?: string;
        out?: string;
        web?: string;
        webUsers?: number;
        webK?: number;
        prerankRun?: string;
        rankRun?: string;
        vectorsOnly?: boolean;
        shard?: string;
        format: string;
        from?: string;
        triton?: boolean;
        tritonMaxBatch: string;
      }) => {
        if (o.format !== 'kdrec' && o.format !== 'onnx')
          throw new Error(`--format: expected 'kdrec' or 'onnx', got '${o.format}'`);
        if ((o.webUsers !== undefined || o.webK !== undefined) && o.web === undefined)
          throw new Error('--web-users and --web-k need --web');
        if ((o.triton || (o.from !== undefined && o.web === undefined)) && o.format !== 'onnx')
          throw new Error('--triton and --from need --format onnx (--from: or --web)');
        const maxBatch = Number(o.tritonMaxBatch);
        if (!Number.isInteger(maxBatch) || maxBatch < 1)
          throw new Error(`--triton-max-batch: expected a positive integer, got '${o.tritonMaxBatch}'`);
        const onnx = (dir: string, out?: string) => {
          const m = writeOnnxExport(dir, {
            ...(out !== undefined ? { out } : {}),
            triton: o.triton === true,
            tritonMaxBatch: maxBatch,
          });
          process.stdout.write(
            `wrote ONNX (opset ${m.opset}) ${Object.keys(m.models).join(', ')}${o.triton ? ' + Triton repository' : ''} to ${out ?? `${dir}/onnx`}\n`,
          );
        };
        const web = (dir: string) => {
          if (o.web === undefined) return;
          const w = writeWebPage({
            exportDir: dir,
            out: o.web,
            ...(o.webUsers !== undefined ? { users: o.webUsers } : {}),
            ...(o.webK !== undefined ? { k: o.webK } : {}),
            log: (msg) => process.stderr.write(`${msg}\n`),
          });
          process.stdout.write(
            `wrote the in-browser page (${w.itemCount} items × dim ${w.dim}) to ${o.web}; serve it over HTTP, e.g. python3 -m http.server -d ${o.web}\n`,
          );
        };
        if (o.from !== undefined) {
          if (o.run !== undefined) throw new Error('--from converts an existing export: drop --run');
          if (o.prerankRun !== undefined || o.rankRun !== undefined || o.vectorsOnly || o.shard !== undefined)
            throw new Error(
              '--from converts an existing export: drop --prerank-run, --rank-run, --vectors-only and --shard',
            );
          if (o.out !== undefined && o.format !== 'onnx')
            throw new Error('--out with --from names the ONNX directory: it needs --format onnx');
          if (o.format === 'onnx') onnx(o.from, o.out);
          web(o.from);
          return;
        }
        if (o.run === undefined || o.out === undefined)
          throw new Error(
            "required options '--run <dir>' and '--out <dir>' (or --from EXPORT with --format onnx or --web)",
          );
        const run = o.run;
        const out = o.out;
        const mpi = joinMpiJob('kdrec export');
        const shard = shardOfJob(mpi, o.shard !== undefined ? parseShard(o.shard) : undefined);
        if (o.vectorsOnly) {
          if (o.format === 'onnx')
            throw new Error('--vectors-only writes parquet vectors: drop --format onnx');
          if (o.prerankRun !== undefined || o.rankRun !== undefined || o.web !== undefined)
            throw new Error(
              '--vectors-only writes item vectors only: drop --prerank-run, --rank-run and --web',
            );
          const r = await exportItemVectorsRun({
            run,
            out,
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
          out,
          ...(o.prerankRun !== undefined ? { prerankRun: o.prerankRun } : {}),
          ...(o.rankRun !== undefined ? { rankRun: o.rankRun } : {}),
          log: (msg) => process.stderr.write(`${msg}\n`),
        });
        process.stdout.write(
          `exported ${m.itemCount} items × dim ${m.dim} (${m.scoreFn}${m.scoreFn === 'cosine' ? `, τ ${m.temperature}` : ''})` +
            `${m.files.prerank ? ' + pre-ranker' : ''}${m.files.rank ? ' + ranker' : ''} to ${out}\n`,
        );
        if (o.format === 'onnx') onnx(out);
        web(out);
      },
    );
}
