/**
 * `kdrec index build --export DIR`: the HNSW index over an export's item vectors, saved next to its
 * manifest, with the metric the manifest's score function requires.
 * `kdrec index eval [--export DIR | --synthetic --items N --dim D] [--json]`: recall@100 of HNSW
 * against exact search, and queries/s, for a few ef values.
 */
import type { Command } from 'commander';
import { HNSW_DEFAULTS, HnswIndex, type IndexMetric } from '../../serve/annIndex.js';
import { loadExport, readManifest } from '../../serve/bundle.js';
import { evaluateIndex, syntheticVectors } from '../../serve/indexEval.js';

function int(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: expected a positive integer, got '${v}'`);
    return n;
  };
}

const METRICS = ['ip', 'cos', 'l2sq'];

export function register(program: Command): void {
  const index = program.command('index').description('Build and evaluate the ANN index over item vectors.');

  index
    .command('build')
    .summary("build the HNSW index of an export's item vectors")
    .requiredOption('--export <dir>', 'export directory (from `kdrec export`)')
    .option('--metric <m>', "ip | cos (default: from the manifest's score function; l2sq is refused)")
    .option('--connectivity <n>', 'HNSW graph degree M', int('--connectivity'), HNSW_DEFAULTS.connectivity)
    .option(
      '--ef-construction <n>',
      'HNSW expansion at build time',
      int('--ef-construction'),
      HNSW_DEFAULTS.expansionAdd,
    )
    .option('--raw-ip', 'dot models: plain inner-product graph instead of the MIPS transform')
    .action(
      (o: {
        export: string;
        metric?: string;
        connectivity: number;
        efConstruction: number;
        rawIp?: boolean;
      }) => {
        if (o.metric !== undefined && !METRICS.includes(o.metric))
          throw new Error(`--metric: expected one of ${METRICS.join(', ')}, got '${o.metric}'`);
        const bundle = loadExport(o.export);
        const m = bundle.manifest;
        const t = performance.now();
        const idx = new HnswIndex(m.dim, bundle.itemVectors, m.scoreFn, {
          ...(o.metric !== undefined ? { metric: o.metric as IndexMetric } : {}),
          connectivity: o.connectivity,
          expansionAdd: o.efConstruction,
          ...(o.rawIp ? { phi: 0 } : {}),
        });
        idx.save(o.export, m);
        process.stdout.write(
          `built HNSW (${idx.metric}, M ${o.connectivity}, ef_construction ${o.efConstruction}) over ${idx.size()} items × dim ${m.dim} in ${((performance.now() - t) / 1000).toFixed(1)} s → ${o.export}/index.usearch\n`,
        );
      },
    );

  index
    .command('eval')
    .summary('recall@100 of HNSW vs exact search, and queries/s, for a few ef')
    .option('--export <dir>', "evaluate on an export's item vectors (queries: its known users' vectors)")
    .option('--synthetic', 'evaluate on seeded N(0,1) vectors instead')
    .option('--items <n>', 'synthetic: number of items', int('--items'), 100_000)
    .option('--dim <n>', 'synthetic: dimension', int('--dim'), 64)
    .option('--queries <n>', 'number of queries', int('--queries'), 500)
    .option('--ef <list>', 'comma-separated ef values', '64,128,256,512')
    .option('--seed <n>', 'synthetic seed', int('--seed'), 1)
    .option('--raw-ip', 'dot models: plain inner-product graph instead of the MIPS transform')
    .option('--json', 'print one JSON line {recallAt100, qps, ef} for the default ef')
    .action(
      (o: {
        export?: string;
        synthetic?: boolean;
        items: number;
        dim: number;
        queries: number;
        ef: string;
        seed: number;
        rawIp?: boolean;
        json?: boolean;
      }) => {
        if ((o.export === undefined) === (o.synthetic === undefined))
          throw new Error('index eval: give exactly one of --export DIR or --synthetic');
        const efs = o.ef.split(',').map((s) => int('--ef')(s.trim()));
        let vectors: Float32Array;
        let queries: Float32Array;
        let dim: number;
        let scoreFn: 'dot' | 'cosine';
        if (o.export !== undefined) {
          const b = loadExport(o.export);
          dim = b.manifest.dim;
          scoreFn = readManifest(o.export).scoreFn;
          vectors = b.itemVectors;
          // Queries: real user vectors of the export's known users (from its user table).
          const ids = b.knownUserIds().slice(0, o.queries);
          if (ids.length === 0) throw new Error(`${o.export}: no known users to query with`);
          queries = new Float32Array(ids.length * dim);
          ids.forEach((id, i) => {
            queries.set(b.userVector(b.encodeUser({ userId: id })), i * dim);
          });
        } else {
          dim = o.dim;
          scoreFn = 'dot';
          vectors = syntheticVectors(o.items, dim, o.seed);
          queries = syntheticVectors(o.queries, dim, o.seed + 1);
        }
        const log = o.json ? undefined : (m: string) => process.stderr.write(`${m}\n`);
        const r = evaluateIndex(vectors, dim, queries, {
          scoreFn,
          efs,
          rawIp: o.rawIp ?? false,
          ...(log ? { log } : {}),
        });
        if (o.json) {
          process.stdout.write(
            `${JSON.stringify({ recallAt100: r.default.recallAt100, qps: r.default.qps, ef: r.default.ef })}\n`,
          );
          return;
        }
        process.stdout.write(
          `${r.items} items × dim ${r.dim}, ${r.queries} queries, ${r.scoreFn}; HNSW M ${r.connectivity}, ef_construction ${r.expansionAdd}, ${r.phi > 0 ? `MIPS transform Φ ${r.phi.toFixed(3)}` : 'plain ip'}, build ${r.buildSeconds.toFixed(1)} s; exact ${r.exactQps.toFixed(0)} q/s\n` +
            `ef\trecall@100\tq/s\n${r.rows.map((x) => `${x.ef}\t${x.recallAt100.toFixed(4)}\t${x.qps.toFixed(0)}`).join('\n')}\n`,
        );
      },
    );
}
