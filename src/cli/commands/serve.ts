/**
 * `kdrec serve --export DIR --port 8080 [--workers N]`: the recommendation service
 * (src/serve/server.ts) on an export; with --workers N > 1, N processes share the port
 * (src/serve/cluster.ts). SIGHUP reloads the export directory in place (e.g. after a symlink was
 * switched to a new version); POST /admin/reload {dir} loads another one under the export root.
 * Writes take a bearer token and every route is rate-limited (src/serve/auth.ts); every worker of
 * --workers N reads the token itself, from the same file or environment.
 */
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { ADMIN_TOKEN_ENV, checkListenAuth, parseRateLimit, readAdminToken } from '../../serve/auth.js';
import { startPrimary, WORKER_EXPORT_ENV, workerLink } from '../../serve/cluster.js';
import { type MetricSnapshot, MetricsRegistry } from '../../serve/promMetrics.js';
import { buildService, type IndexChoice } from '../../serve/server.js';
import { intOption } from '../intOption.js';

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
    .option('--port <n>', 'TCP port', intOption('--port', 0), 8080)
    .option('--host <addr>', 'listen address', '127.0.0.1')
    .option('--index <kind>', 'auto (saved HNSW if built, else exact) | hnsw | exact', 'auto')
    .option(
      '--ef <n>',
      'HNSW ef at query time (recall quality vs latency; searches use max(ef, N))',
      intOption('--ef', 1),
    )
    .option('--n <n>', 'recall candidates N', intOption('--n', 1), 500)
    .option('--m <n>', 'kept after pre-ranking M', intOption('--m', 1), 100)
    .option('--k <n>', 'final list length K', intOption('--k', 1), 10)
    .option(
      '--body-limit <bytes>',
      'largest request body; a larger one gets 413',
      intOption('--body-limit', 1),
      64 * 1024,
    )
    .option(
      '--admin-token-file <file>',
      `file holding the bearer token /admin/* and POST /events require (default: $${ADMIN_TOKEN_ENV})`,
    )
    .option(
      '--insecure-no-auth',
      'allow a non-loopback --host without an admin token (writes open to anyone who reaches the port)',
    )
    .option(
      '--rate-limit <N/s|N/min|off>',
      'per-client limit of every route but /admin/*, per process',
      '1000/s',
    )
    .option('--admin-rate-limit <N/s|N/min|off>', 'per-client limit of /admin/*, per process', '60/min')
    .option(
      '--trust-proxy <addrs>',
      'proxies (addresses/CIDRs, comma-separated) whose X-Forwarded-For names the client for rate limits',
    )
    .option(
      '--workers <n>',
      `server processes sharing the port; one per core is fastest (this machine: ${availableParallelism()})`,
      intOption('--workers', 1),
      1,
    )
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  kdrec serve --export runs/exp1/export --port 8080\n' +
        '  kdrec serve --export exports/current --export-root exports --workers 2\n' +
        '  kdrec serve --export exports/current --host 0.0.0.0 --admin-token-file /run/secrets/kdrec-admin\n' +
        '  curl -s localhost:8080/recommend -H \'content-type: application/json\' -d \'{"user_id":"u1","k":10}\'\n' +
        '  curl -s -XPOST localhost:8080/admin/reload -H "authorization: Bearer $TOKEN" -H \'content-type: application/json\' -d \'{"dir":"v2"}\'',
    )
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
        workers: number;
        ef?: number;
        adminTokenFile?: string;
        insecureNoAuth?: boolean;
        rateLimit: string;
        adminRateLimit: string;
        trustProxy?: string;
      }) => {
        if (!['auto', 'hnsw', 'exact'].includes(o.index))
          throw new Error(`--index: expected auto, hnsw or exact, got '${o.index}'`);
        const adminToken = readAdminToken(o.adminTokenFile);
        checkListenAuth(o.host, adminToken, o.insecureNoAuth === true);
        const rateLimit = parseRateLimit(o.rateLimit, '--rate-limit');
        const adminRateLimit = parseRateLimit(o.adminRateLimit, '--admin-rate-limit');
        const root = resolve(o.exportRoot ?? dirname(resolve(o.export)));
        if (o.workers > 1 && cluster.isPrimary) {
          await servePrimary(o.workers, resolve(o.export));
          return;
        }
        // A cluster worker serves the export the primary names (a restarted worker: the current one).
        const worker = cluster.isWorker ? workerLink() : null;
        const svc = await buildService({
          exportRoot: root,
          exportDir: process.env[WORKER_EXPORT_ENV] ?? resolve(o.export),
          ...(worker ? { cluster: worker.link } : {}),
          index: o.index as IndexChoice,
          n: o.n,
          m: o.m,
          k: o.k,
          bodyLimit: o.bodyLimit,
          adminToken,
          rateLimit,
          adminRateLimit,
          ...(o.trustProxy !== undefined ? { trustProxy: o.trustProxy } : {}),
          ...(o.ef !== undefined ? { ef: o.ef } : {}),
        });
        if (worker) {
          worker.attach({
            async prepare(dir) {
              const t = performance.now();
              const next = await svc.prepare(dir);
              process.stderr.write(
                `kdrec serve: worker ${process.pid} loaded ${dir} in ${((performance.now() - t) / 1000).toFixed(1)} s\n`,
              );
              return {
                export: next.dir,
                exportCreatedAt: next.bundle.manifest.createdAt,
                items: next.index.size(),
                commit: () => svc.commit(next),
              };
            },
            snapshot: () => svc.metrics.snapshot(),
            applyEvents: (userId, events) => svc.userStates.append(userId, events),
            dumpEvents: () => svc.userStates.snapshot(),
            restoreEvents: (users) => svc.userStates.restore(users),
          });
          // A worker that replaces a dead one serves only once it holds every user's events.
          await worker.syncEvents();
          // The primary stops the workers; an interrupt from the terminal reaches it too. Stopping
          // closes the listener first and lets requests in flight finish.
          process.on('SIGINT', () => {});
          process.on('SIGTERM', () => {
            void svc.app.close().then(() => process.exit(0));
          });
          await svc.app.listen({ port: o.port, host: o.host });
          return;
        }
        process.on('SIGHUP', () => {
          svc.reload().then(
            (s) => process.stderr.write(`reloaded ${s.dir} (export of ${s.bundle.manifest.createdAt})\n`),
            (err: Error) =>
              process.stderr.write(`reload failed, still serving the previous export: ${err.message}\n`),
          );
        });
        const addr = await svc.app.listen({ port: o.port, host: o.host });
        const s = svc.state();
        process.stderr.write(
          `kdrec serve: ${s.index.size()} items (${s.indexKind} index${s.bundle.prerank ? ', pre-ranker' : ''}) from ${s.dir} on ${addr}\n`,
        );
      },
    );
}

/** The primary of `--workers N`: starts the workers, relays SIGHUP as a coordinated reload. */
async function servePrimary(workers: number, exportDir: string): Promise<void> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const primary = startPrimary({
    workers,
    exportDir,
    renderMetrics: (snaps) => MetricsRegistry.merged(snaps as MetricSnapshot[][]).render(),
    log,
  });
  process.on('SIGHUP', () => {
    primary.reload().then(
      (info) => log(`reloaded ${info.export} on all workers (export of ${info.exportCreatedAt})`),
      (err: Error) => log(`reload failed, every worker still serves the previous export: ${err.message}`),
    );
  });
  const stop = () => {
    void primary.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const addr = await primary.listening;
  log(`kdrec serve: ${workers} worker processes serving ${exportDir} on ${addr}`);
}
