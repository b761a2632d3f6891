/**
 * `kdrec serve --export DIR --port 8080`: the recommendation service (src/serve/server.ts) on an
 * export. SIGHUP reloads the export directory in place (e.g. after a symlink was switched to a new
 * version); POST /admin/reload {dir} loads another one under the export root.
 */
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { buildService, type IndexChoice } from '../../serve/server.js';

function int(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`${name}: expected an integer >= ${min}, got '${v}'`);
    return n;
  };
}

export function register(program: Command): void {
  program
    .command('serve')
    .summary('serve recommendations over HTTP from an export')
    .description(
      'POST /recommend {user_id?, features?, recent?, events?, ts?, k?} → items with per-stage scores; GET /health;\n' +
        'POST /events {user_id, events: [{item_id, ts, labels?}]} feeds the per-user state store (user-state exports);\n' +
        'GET /metrics (Prometheus); POST /admin/reload {dir} or SIGHUP for an atomic hot reload.',
    )
    .requiredOption('--export <dir>', 'export directory (from `kdrec export`)')
    .option(
      '--export-root <dir>',
      'directory every loaded export must lie in (default: the parent of --export)',
    )
    .option('--port <n>', 'TCP port', int('--port', 0), 8080)
    .option('--host <addr>', 'listen address', '127.0.0.1')
    .option('--index <kind>', 'auto (saved HNSW if built, else exact) | hnsw | exact', 'auto')
    .option('--n <n>', 'recall candidates N', int('--n', 1), 500)
    .option('--m <n>', 'kept after pre-ranking M', int('--m', 1), 100)
    .option('--k <n>', 'final list length K', int('--k', 1), 10)
    .option('--body-limit <bytes>', 'largest request body', int('--body-limit', 1), 64 * 1024)
    .action(
      async (o: {
        export: string;
        exportRoot?: string;
        port: number;
        host: string;
        index: string;
        n: number;
        m: number;
        k: number;
        bodyLimit: number;
      }) => {
        if (!['auto', 'hnsw', 'exact'].includes(o.index))
          throw new Error(`--index: expected auto, hnsw or exact, got '${o.index}'`);
        const root = resolve(o.exportRoot ?? dirname(resolve(o.export)));
        const svc = await buildService({
          exportRoot: root,
          exportDir: resolve(o.export),
          index: o.index as IndexChoice,
          n: o.n,
          m: o.m,
          k: o.k,
          bodyLimit: o.bodyLimit,
        });
        process.on('SIGHUP', () => {
          try {
            const s = svc.reload();
            process.stderr.write(`reloaded ${s.dir} (export of ${s.bundle.manifest.createdAt})\n`);
          } catch (err) {
            process.stderr.write(
              `reload failed, still serving the previous export: ${(err as Error).message}\n`,
            );
          }
        });
        const addr = await svc.app.listen({ port: o.port, host: o.host });
        const s = svc.state();
        process.stderr.write(
          `kdrec serve: ${s.index.size()} items (${s.indexKind} index${s.bundle.prerank ? ', pre-ranker' : ''}) from ${s.dir} on ${addr}\n`,
        );
      },
    );
}
