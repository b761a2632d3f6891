/**
 * The HTTP service (fastify): POST /recommend runs the cascade of ./cascade.ts on a loaded export;
 * GET /health, GET /metrics (Prometheus text), POST /admin/reload {dir} (and SIGHUP, wired by the
 * CLI) for hot reload.
 *
 * Hot reload is an atomic swap of one reference: the new export and its index are loaded completely
 * first (a failure leaves the old one serving and answers the reload with the error); requests that
 * started before the swap finish on the state they captured. Loading is asynchronous
 * (./servingState.ts `loadServingStateAsync`: file reads off the event loop, the graph memory-mapped,
 * parsing in slices), so requests keep being answered while a new export loads.
 *
 * Paths: every export directory is resolved against the configured export root and, after
 * following symlinks, must lie inside it; anything else is refused with 403 before a file is read.
 *
 * Writes (`/admin/*`, POST /events) need the admin token when one is configured, and every route
 * is rate-limited per client (./auth.ts): the limit runs first (onRequest), then the token check
 * (preParsing), so neither an unauthenticated nor a throttled request has its body parsed.
 */
import { existsSync, realpathSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { isAbsolute, relative, resolve } from 'node:path';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import {
  bearerChecker,
  DEFAULT_ADMIN_RATE_LIMIT,
  DEFAULT_RATE_LIMIT,
  isAdminPath,
  isWriteRequest,
  type RateLimit,
} from './auth.js';
import type { EncodedUser } from './bundle.js';
import { checkSizes, runCascade } from './cascade.js';
import { MetricsRegistry } from './promMetrics.js';
import { type IndexChoice, loadServingStateAsync, type ServingState } from './servingState.js';
import {
  checkUserEvent,
  MemoryUserStateStore,
  type UserEvent,
  type UserStateStore,
} from './userStateStore.js';

export class PathError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
  }
}

/** `dir` resolved inside `root` (symlinks followed); throws a 403/404 PathError otherwise. */
export function resolveInsideRoot(root: string, dir: string): string {
  const realRoot = realpathSync(root);
  const target = resolve(realRoot, dir);
  const inside = (p: string) => {
    const rel = relative(realRoot, p);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  };
  if (!inside(target)) throw new PathError(`'${dir}' is outside the export root ${realRoot}`, 403);
  if (!existsSync(target))
    throw new PathError(`export directory '${dir}' does not exist under ${realRoot}`, 404);
  const real = realpathSync(target);
  if (!inside(real))
    throw new PathError(`'${dir}' resolves (through a link) outside the export root ${realRoot}`, 403);
  return real;
}

export type { IndexChoice, ServingState };

export interface ServerOptions {
  /** Every export the server loads must lie under this directory. */
  exportRoot: string;
  /** The export to serve first (relative to the root, or absolute inside it). */
  exportDir: string;
  index?: IndexChoice;
  /** HNSW ef at query time (default 256; usearch searches with max(ef, N)). */
  ef?: number;
  /** Largest accepted request body in bytes (default 64 KiB); a larger one gets 413. */
  bodyLimit?: number;
  /** Bearer token `/admin/*` and POST /events require (./auth.ts); null/absent: writes are open. */
  adminToken?: string | null;
  /** Per-client limit of every route but `/admin/*` (default DEFAULT_RATE_LIMIT); null: none. */
  rateLimit?: RateLimit | null;
  /** Per-client limit of `/admin/*` (default DEFAULT_ADMIN_RATE_LIMIT); null: none. */
  adminRateLimit?: RateLimit | null;
  /** Fastify `trustProxy`: the proxies whose X-Forwarded-For names the client (addresses/CIDRs). */
  trustProxy?: string;
  /** Cascade sizes (defaults N=500, M=100, K=10). */
  n?: number;
  m?: number;
  k?: number;
  logger?: boolean;
  /** Per-user event store behind POST /events (default: in memory, bounded). */
  userStateStore?: UserStateStore;
  /** Set in the workers of a multi-process server: reloads, metrics and events span all workers. */
  cluster?: ClusterLink;
}

export interface Service {
  app: FastifyInstance;
  state(): ServingState;
  /** Loads `dir` (default: the current one again) and swaps it in; rejects on failure, old state kept. */
  reload(dir?: string): Promise<ServingState>;
  /**
   * The two halves of `reload`, for a coordinated reload across processes (./cluster.ts): `prepare`
   * loads without serving it; `commit` swaps a prepared state in.
   */
  prepare(dir?: string): Promise<ServingState>;
  commit(state: ServingState): void;
  metrics: MetricsRegistry;
  userStates: UserStateStore;
}

/**
 * How a worker of a multi-process server reaches its siblings (implemented over the cluster IPC
 * channel by ./cluster.ts). Without one, the service acts alone.
 */
export interface ClusterLink {
  /** Reloads every worker to `dir` (already resolved inside the root): all swap, or none does. */
  reload(dir: string): Promise<{ export: string; exportCreatedAt: string; items: number }>;
  /** The Prometheus text of every worker's metrics, summed. */
  metrics(): Promise<string>;
  /**
   * Stores validated events in every worker's store (this one's included); resolves once all
   * serving workers have applied them, so any worker's next answer sees them.
   */
  storeEvents(userId: string, events: readonly UserEvent[]): Promise<void>;
  /** Sent as `x-kdrec-worker` on every answer, so a client (or a test) knows who answered. */
  workerId: string;
}

const userEventSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['item_id', 'ts'],
  properties: {
    item_id: { type: 'string', minLength: 1, maxLength: 256 },
    ts: { type: 'number', minimum: 0 },
    labels: { type: 'object', maxProperties: 20, additionalProperties: { type: 'number' } },
  },
} as const;

interface UserEventBody {
  item_id: string;
  ts: number;
  labels?: Record<string, number>;
}

const toUserEvent = (e: UserEventBody): UserEvent => ({
  itemId: e.item_id,
  ts: e.ts,
  ...(e.labels !== undefined ? { labels: e.labels } : {}),
});

const featureValue = {
  anyOf: [
    { type: 'string', maxLength: 256 },
    { type: 'number' },
    {
      type: 'array',
      maxItems: 1000,
      items: { anyOf: [{ type: 'string', maxLength: 256 }, { type: 'number' }] },
    },
  ],
};

const recommendBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    user_id: { type: 'string', minLength: 1, maxLength: 256 },
    features: { type: 'object', maxProperties: 100, additionalProperties: featureValue },
    recent: { type: 'array', maxItems: 1000, items: { type: 'string', maxLength: 256 } },
    /** The user's recent events carried by the request (added to the stored ones for user state). */
    events: { type: 'array', maxItems: 1000, items: userEventSchema },
    /** Request time in unix seconds (default: now): user state sees events strictly before it. */
    ts: { type: 'number', minimum: 0 },
    k: { type: 'integer', minimum: 1, maximum: 1000 },
    n: { type: 'integer', minimum: 1, maximum: 5000 },
    m: { type: 'integer', minimum: 1, maximum: 5000 },
  },
} as const;

interface RecommendBody {
  user_id?: string;
  features?: Record<string, string | number | (string | number)[]>;
  recent?: string[];
  events?: UserEventBody[];
  ts?: number;
  k?: number;
  n?: number;
  m?: number;
}

function badRequest(message: string): Error & { statusCode: number } {
  return Object.assign(new Error(message), { statusCode: 400 });
}

export async function buildService(opts: ServerOptions): Promise<Service> {
  const root = realpathSync(opts.exportRoot);
  const indexChoice = opts.index ?? 'auto';
  const userStates = opts.userStateStore ?? new MemoryUserStateStore();
  const search = opts.ef !== undefined ? { ef: opts.ef } : {};
  let current = await loadServingStateAsync(resolveInsideRoot(root, opts.exportDir), indexChoice, search);
  const defaults = { n: opts.n ?? 500, m: opts.m ?? 100, k: opts.k ?? 10 };
  checkSizes(defaults);

  const metrics = new MetricsRegistry();
  const requests = metrics.counter('kdrec_http_requests_total', 'HTTP requests by route and status code.');
  const latency = metrics.histogram('kdrec_http_request_duration_seconds', 'HTTP request latency by route.');
  const stageLatency = metrics.histogram(
    'kdrec_cascade_stage_duration_seconds',
    'Cascade stage latency (recall, prerank, rank, encode).',
  );
  const coldStarts = metrics.counter(
    'kdrec_cold_start_requests_total',
    'Recommendations for users unknown to the export (OOV user row).',
  );
  const reloads = metrics.counter('kdrec_reloads_total', 'Export reloads by result.');

  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: opts.bodyLimit ?? 64 * 1024,
    // Fastify's defaults strip unknown properties and coerce "10" to 10; a request API should say
    // what is wrong instead of guessing.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    ...(opts.trustProxy !== undefined ? { trustProxy: opts.trustProxy } : {}),
  });
  const limits = {
    read: opts.rateLimit === undefined ? DEFAULT_RATE_LIMIT : opts.rateLimit,
    admin: opts.adminRateLimit === undefined ? DEFAULT_ADMIN_RATE_LIMIT : opts.adminRateLimit,
  };
  const bucket = (req: { url: string }) => (isAdminPath(req.url) ? 'admin' : 'read');
  const workerId = opts.cluster?.workerId;
  if (workerId !== undefined)
    // First hook, so even a rate-limited or unauthorised answer says which worker gave it.
    app.addHook('onRequest', async (_req, reply) => {
      void reply.header('x-kdrec-worker', workerId);
    });
  if (limits.read !== null || limits.admin !== null) {
    // Registered before the routes: the plugin hooks every route added after it.
    await app.register(rateLimit, {
      global: true,
      keyGenerator: (req) => `${bucket(req)}|${req.ip}`,
      allowList: (req) => limits[bucket(req)] === null,
      max: (req) => limits[bucket(req)]?.max ?? 1,
      timeWindow: (req) => limits[bucket(req)]?.windowMs ?? 1000,
    });
  }
  if (opts.adminToken != null) {
    const authorized = bearerChecker(opts.adminToken);
    app.addHook('preParsing', async (req, reply) => {
      if (!isWriteRequest(req.method, req.url) || authorized(req.headers.authorization)) return;
      // RFC 6750 §3: a protected resource names the scheme it wants.
      void reply.header('www-authenticate', 'Bearer realm="kdrec"');
      return reply.code(401).send({
        statusCode: 401,
        error: 'Unauthorized',
        message: `${req.method} ${req.url.split('?', 1)[0]} needs the admin token: send 'Authorization: Bearer <token>'`,
      });
    });
  }
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    requests.inc({ route, status: String(reply.statusCode) });
    latency.observe({ route }, reply.elapsedTime / 1000);
  });
  app.setErrorHandler((err: FastifyError, _req, reply) => {
    const status = err.statusCode !== undefined && err.statusCode >= 400 ? err.statusCode : 500;
    const message =
      err.validation !== undefined
        ? `invalid request body: ${err.message}`
        : err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? `request body exceeds the limit of ${app.initialConfig.bodyLimit} bytes`
          : err.message;
    void reply.status(status).send({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', message });
  });

  const prepare = async (dir?: string): Promise<ServingState> => {
    try {
      const target = dir === undefined ? current.dir : resolveInsideRoot(root, dir);
      return await loadServingStateAsync(target, indexChoice, search);
    } catch (err) {
      reloads.inc({ result: 'error' });
      throw err;
    }
  };
  const commit = (next: ServingState): void => {
    current = next; // the swap: one reference assignment
    reloads.inc({ result: 'ok' });
  };
  const reload = async (dir?: string): Promise<ServingState> => {
    const next = await prepare(dir);
    commit(next);
    return next;
  };

  app.get('/health', async () => {
    const s = current;
    return {
      status: 'ok',
      export: s.dir,
      exportCreatedAt: s.bundle.manifest.createdAt,
      items: s.index.size(),
      index: s.indexKind,
      indexTuning: s.indexTuning,
      prerank: s.bundle.prerank !== null,
      rank: s.bundle.rank !== null,
      loadedAt: s.loadedAt,
      // Which process answered: with `--workers N` each worker has its own.
      pid: process.pid,
    };
  });

  app.get('/metrics', async (_req, reply) => {
    void reply.header('content-type', 'text/plain; version=0.0.4');
    return opts.cluster ? opts.cluster.metrics() : metrics.render();
  });

  app.post<{ Body: { dir?: unknown } }>(
    '/admin/reload',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { dir: { type: 'string', minLength: 1, maxLength: 4096 } },
        },
      },
    },
    async (req, reply) => {
      const dir = typeof req.body?.dir === 'string' ? req.body.dir : undefined;
      try {
        if (opts.cluster) {
          // Resolve here so a bad path is refused before any worker loads anything.
          const target = dir === undefined ? current.dir : resolveInsideRoot(root, dir);
          return { status: 'reloaded', ...(await opts.cluster.reload(target)) };
        }
        const s = await reload(dir);
        return {
          status: 'reloaded',
          export: s.dir,
          exportCreatedAt: s.bundle.manifest.createdAt,
          items: s.index.size(),
        };
      } catch (err) {
        const status = err instanceof PathError ? err.statusCode : 400;
        return reply
          .status(status)
          .send({ statusCode: status, error: 'Reload refused', message: (err as Error).message });
      }
    },
  );

  app.post<{ Body: RecommendBody }>('/recommend', { schema: { body: recommendBody } }, async (req) => {
    const s = current; // one consistent export for the whole request, even across a swap
    const b = req.body;
    const sizes = { n: b.n ?? defaults.n, m: b.m ?? defaults.m, k: b.k ?? defaults.k };
    if (sizes.k > sizes.m || sizes.m > sizes.n)
      throw badRequest(`need k <= m <= n, got n=${sizes.n}, m=${sizes.m}, k=${sizes.k}`);
    const allowed = new Set(s.bundle.requestFields.map((f) => f.name));
    for (const f of Object.keys(b.features ?? {})) {
      if (!allowed.has(f))
        throw badRequest(
          `features.${f}: not a user or context field of this export (fields: ${[...allowed].join(', ')})`,
        );
    }
    const t0 = performance.now();
    let user: EncodedUser;
    let uvec: Float32Array;
    // The user's events (store + request), read by the user-state encoder and the ranker's window counts.
    let history: UserEvent[] = [];
    const now = b.ts ?? Date.now() / 1000;
    try {
      user = s.bundle.encodeUser({
        ...(b.user_id !== undefined ? { userId: b.user_id } : {}),
        ...(b.features !== undefined ? { features: b.features } : {}),
        ...(b.recent !== undefined ? { recent: b.recent } : {}),
      });
      if (s.userState !== null || s.bundle.rankPrivileged !== null) {
        history = [
          ...(b.user_id !== undefined ? await userStates.history(b.user_id) : []),
          ...(b.events ?? []).map((e, i) => checkUserEvent(toUserEvent(e), `events[${i}]`)),
        ];
      }
      if (s.userState !== null) {
        // As-of-request user state: stored history plus the request's events, computed by the same
        // code as the training columns; a field the request gives explicitly is left as given.
        const cols = s.userState.features(history, now);
        for (const f of Object.keys(b.features ?? {})) {
          delete cols.seq[f];
          delete cols.num[f];
        }
        s.userState.apply(user.batch, cols);
      }
      uvec = s.bundle.userVector(user);
    } catch (err) {
      throw badRequest((err as Error).message);
    }
    const encodeMs = performance.now() - t0;
    if (user.coldStart) coldStarts.inc();
    const bundle = s.bundle;
    const res = runCascade(
      {
        recall: (n) => s.index.search(uvec, n),
        ...(bundle.prerank ? { prerank: (rows: Int32Array) => bundle.prerankScores(user, rows) } : {}),
        // The ranker's privileged window counts are computed here, for the M candidates only, so
        // their cost is part of the rank stage's latency.
        ...(bundle.rank && bundle.rankPrivileged
          ? {
              rank: (rows: Int32Array) =>
                bundle.rankScores(user, rows, bundle.rankPrivileged!.columns(history, now, rows)),
            }
          : {}),
      },
      sizes,
    );
    stageLatency.observe({ stage: 'encode' }, encodeMs / 1000);
    stageLatency.observe({ stage: 'recall' }, res.timings.recall / 1000);
    if (bundle.prerank) stageLatency.observe({ stage: 'prerank' }, res.timings.prerank / 1000);
    if (bundle.rank) stageLatency.observe({ stage: 'rank' }, res.timings.rank / 1000);
    const num = (x: number) => (Number.isNaN(x) ? null : x);
    return {
      items: Array.from(res.items, (row, i) => ({
        id: bundle.itemIds[row] ?? String(row),
        scores: {
          recall: res.recallScores[i]!,
          prerank: num(res.prerankScores[i]!),
          rank: num(res.rankScores[i]!),
        },
        // An item added after export has no window keys: its privileged counts were 0 (onlinePrivileged.ts).
        ...(bundle.rankPrivileged !== null && !bundle.rankPrivileged.hasKeys(row)
          ? { noWindowKeys: true }
          : {}),
      })),
      coldStart: user.coldStart,
      stages: ['recall', ...(bundle.prerank ? ['prerank'] : []), ...(bundle.rank ? ['rank'] : [])],
      sizes,
      export: bundle.manifest.createdAt,
      timingsMs: {
        encode: encodeMs,
        recall: res.timings.recall,
        prerank: res.timings.prerank,
        ...(bundle.rank ? { rank: res.timings.rank } : {}),
      },
    };
  });

  app.post<{ Body: { user_id: string; events: UserEventBody[] } }>(
    '/events',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['user_id', 'events'],
          properties: {
            user_id: { type: 'string', minLength: 1, maxLength: 256 },
            events: { type: 'array', minItems: 1, maxItems: 1000, items: userEventSchema },
          },
        },
      },
    },
    async (req) => {
      let events: UserEvent[];
      try {
        events = req.body.events.map((e, i) => checkUserEvent(toUserEvent(e), `events[${i}]`));
        if (!opts.cluster) await userStates.append(req.body.user_id, events);
      } catch (err) {
        throw badRequest((err as Error).message);
      }
      if (opts.cluster) {
        try {
          await opts.cluster.storeEvents(req.body.user_id, events);
        } catch (err) {
          throw Object.assign(new Error(`events not stored on every worker: ${(err as Error).message}`), {
            statusCode: 503,
          });
        }
      }
      return { status: 'stored', user_id: req.body.user_id, events: req.body.events.length };
    },
  );

  return { app, state: () => current, reload, prepare, commit, metrics, userStates };
}
