/**
 * `kdrec serve --workers N`: one server process per core, sharing one port through node:cluster
 * (the primary accepts connections and hands them to the workers round-robin). A Node process runs
 * JavaScript on one core, and a request is ~3 ms of single-threaded compute (HNSW search + the
 * pre-ranker), so one process saturates one core; see BENCHMARKS.md "HTTP load test".
 *
 * Every worker loads its own copy of the export (exports are read-only). What must stay one
 * service across processes goes through the primary over the IPC channel:
 *
 * - Reload (POST /admin/reload on any worker, or SIGHUP to the primary) is two-phase: every worker
 *   loads the new export without serving it (`prepare`, one worker after another, so the others
 *   serve at full speed meanwhile); only when all have succeeded does the
 *   primary tell them to swap (`commit`); if any fails, all discard it and keep serving the old
 *   export, and the reload request gets the error. Reloads are serialised in the primary.
 * - GET /metrics on any worker returns the sum over all workers (./promMetrics.ts `merged`).
 * - POST /events (issue 18, item 5a). node:cluster hands out connections, not requests, so an event
 *   cannot be routed to an "owner" worker without proxying it, and a user's next /recommend may land
 *   on any worker. So every worker keeps every user's events, and the primary is their sequencer: the
 *   receiving worker validates the events and sends them to the primary, which numbers them (`seq`)
 *   and sends them to every worker, the receiving one included; each applies them in `seq` order and
 *   acknowledges. The POST is answered only when every serving worker has applied them, so a request
 *   made after the answer sees the events on whichever worker it reaches (read-your-writes), and all
 *   workers hold the same store, event for event. Memory is each store's bound
 *   (MemoryUserStateStore: maxUsers · maxEventsPerUser), per worker.
 *   A worker started later (a replacement for one that died) copies the store of a serving sibling
 *   before it listens: the sibling dumps its store, tagged with the last `seq` it applied, and the
 *   newcomer applies the events it was sent meanwhile with a later `seq` (./userStateStore.ts
 *   `snapshot`/`restore`). A store shared by all workers (e.g. Redis behind `UserStateStore`) would
 *   replace this replication rather than sit behind it.
 *
 * A worker that dies after start-up is replaced (on the export currently served); one that fails
 * to start stops the whole server with its error, since its siblings would fail the same way.
 */
import cluster, { type Worker } from 'node:cluster';
import type { ClusterLink } from './server.js';
import type { UserEvent } from './userStateStore.js';

/** Environment variable telling a (re)started worker which export to serve. */
export const WORKER_EXPORT_ENV = 'KDREC_SERVE_EXPORT';

/** How long the primary waits for the workers' part of a reload or a scrape. */
const RELOAD_TIMEOUT_MS = 10 * 60_000;
const SCRAPE_TIMEOUT_MS = 10_000;
/** How long a POST /events waits for every worker to apply the events, and a newcomer for its copy. */
const EVENTS_TIMEOUT_MS = 10_000;
const SYNC_TIMEOUT_MS = 5 * 60_000;
/** Users per message when a worker's store is copied to a newcomer (bounds one IPC message). */
const SYNC_USERS_PER_PART = 2000;
/** More restarts than this within a minute means the workers keep crashing: give up. */
const MAX_RESTARTS_PER_MINUTE = 5;

type ReloadInfo = { export: string; exportCreatedAt: string; items: number };

/** Messages between the primary and the workers (all carry `kdrec` so others are ignored). */
export type ClusterMessage =
  | { kdrec: 'reload'; id: number; dir: string }
  | { kdrec: 'reload-result'; id: number; ok: true; info: ReloadInfo }
  | { kdrec: 'reload-result'; id: number; ok: false; error: string; status: number }
  | { kdrec: 'prepare'; id: number; dir: string }
  | { kdrec: 'prepared'; id: number; ok: true; info: ReloadInfo }
  | { kdrec: 'prepared'; id: number; ok: false; error: string; status: number }
  | { kdrec: 'commit'; id: number }
  | { kdrec: 'abort'; id: number }
  | { kdrec: 'committed'; id: number }
  | { kdrec: 'scrape'; id: number }
  | { kdrec: 'snapshot'; id: number; metrics: unknown }
  | { kdrec: 'metrics-result'; id: number; text: string }
  | { kdrec: 'events'; id: number; userId: string; events: UserEvent[] }
  | { kdrec: 'events-result'; id: number; ok: true }
  | { kdrec: 'events-result'; id: number; ok: false; error: string }
  | { kdrec: 'apply-events'; id: number; userId: string; events: UserEvent[] }
  | { kdrec: 'events-applied'; id: number; error?: string }
  | { kdrec: 'sync'; id: number }
  | { kdrec: 'dump'; id: number }
  | {
      kdrec: 'dump-part' | 'sync-part';
      id: number;
      /** The last `apply-events` id the dumping worker had applied when it took the copy. */
      seq: number;
      /** Parts of one copy are numbered from 0; a part 0 starts the copy afresh. */
      part: number;
      users: UserEntry[];
      last: boolean;
    };

/** One user's events, as a store dump carries them (./userStateStore.ts `snapshot`). */
export type UserEntry = [userId: string, events: UserEvent[]];

/**
 * Sends to a worker that may be exiting: a send on a closed channel is dropped (the exit handler
 * then releases whatever waited for that worker) instead of crashing the primary.
 */
function post(w: Worker, m: ClusterMessage): void {
  if (!w.isConnected()) return;
  w.send(m, undefined, () => {});
}

function isClusterMessage(m: unknown): m is ClusterMessage {
  return typeof m === 'object' && m !== null && typeof (m as { kdrec?: unknown }).kdrec === 'string';
}

export interface PrimaryOptions {
  workers: number;
  /** The export the workers start on (absolute). */
  exportDir: string;
  /** Renders merged metric snapshots (./promMetrics.ts), injected to keep this file transport-only. */
  renderMetrics(snapshots: unknown[]): string;
  log(line: string): void;
}

export interface Primary {
  /** Resolves with the listening address once every worker listens. */
  listening: Promise<string>;
  /** Coordinated reload of `dir` (default: the export currently served) across all workers. */
  reload(dir?: string): Promise<ReloadInfo>;
  close(): Promise<void>;
}

/** Starts `opts.workers` worker processes (re-running this process's command) and coordinates them. */
export function startPrimary(opts: PrimaryOptions): Primary {
  if (!cluster.isPrimary) throw new Error('cluster: startPrimary called in a worker process');
  let currentDir = opts.exportDir;
  let closing = false;
  let nextId = 1;
  const restarts: number[] = [];
  const live = new Set<Worker>();
  /** Workers that listen (and so answer the primary); only these take part in reloads and scrapes. */
  const ready = new Set<Worker>();
  /** The export each worker serves (a worker started during a reload may be behind). */
  const workerDir = new Map<Worker, string>();
  const waiting = new Map<string, { reply(w: Worker, m: ClusterMessage): void; recheck(): void }>();
  const key = (kind: string, id: number) => `${kind}:${id}`;
  /** The id of the last `apply-events` sent: every worker applies events in this order. */
  let seq = 0;
  /** Relays of a sibling's store dump to the newcomer that asked (dump id → newcomer, sync id). */
  const syncs = new Map<number, { from: Worker; to: Worker; id: number }>();

  /** Sends `msg` to `targets` and collects one reply of `kind` from each that stays alive. */
  const gather = <T extends ClusterMessage>(
    msg: ClusterMessage & { id: number },
    kind: T['kdrec'],
    timeoutMs: number,
    targets: Worker[] = [...ready],
  ): Promise<T[]> =>
    new Promise<T[]>((resolve, reject) => {
      const got = new Map<Worker, T>();
      const k = key(kind, msg.id);
      const timer = setTimeout(() => {
        waiting.delete(k);
        reject(
          new Error(`cluster: ${targets.length - got.size} worker(s) did not answer '${msg.kdrec}' in time`),
        );
      }, timeoutMs);
      const recheck = () => {
        if (targets.every((t) => got.has(t) || !ready.has(t))) {
          clearTimeout(timer);
          waiting.delete(k);
          resolve([...got.values()]);
        }
      };
      waiting.set(k, {
        reply(w, m) {
          got.set(w, m as T);
          recheck();
        },
        recheck,
      });
      for (const w of targets) post(w, msg);
      recheck();
    });

  /** Two-phase reload of `targets` to `dir`: all prepare, then all commit, or all abort. */
  const reloadWorkers = async (dir: string, targets: Worker[]): Promise<ReloadInfo> => {
    const id = nextId++;
    const abort = () => {
      for (const w of targets) if (ready.has(w)) post(w, { kdrec: 'abort', id });
    };
    const prepared: Extract<ClusterMessage, { kdrec: 'prepared' }>[] = [];
    try {
      // One worker at a time: loading is CPU-heavy (parsing, first touches of the new graph), so the
      // other workers keep serving at full speed meanwhile; the swap is still all-or-none.
      for (const w of targets) {
        const [p] = await gather<Extract<ClusterMessage, { kdrec: 'prepared' }>>(
          { kdrec: 'prepare', id, dir },
          'prepared',
          RELOAD_TIMEOUT_MS,
          [w],
        );
        if (p === undefined) continue; // the worker died meanwhile
        prepared.push(p);
        if (!p.ok) break;
      }
    } catch (err) {
      abort();
      throw Object.assign(err as Error, { status: 503 });
    }
    for (const p of prepared) {
      if (!p.ok) {
        abort();
        throw Object.assign(new Error(p.error), { status: p.status });
      }
    }
    const first = prepared[0];
    if (first === undefined || !first.ok)
      throw Object.assign(new Error('cluster: no live worker'), { status: 503 });
    await gather({ kdrec: 'commit', id }, 'committed', RELOAD_TIMEOUT_MS, targets);
    for (const w of targets) workerDir.set(w, dir);
    return first.info;
  };

  // Reloads run one at a time, in order, so two never interleave their prepare and commit phases.
  let reloadChain: Promise<unknown> = Promise.resolve();
  const serialised = <T>(run: () => Promise<T>): Promise<T> => {
    const p = reloadChain.then(run, run);
    reloadChain = p.catch(() => undefined);
    return p;
  };
  const reload = (dir = currentDir): Promise<ReloadInfo> =>
    serialised(async () => {
      const t = performance.now();
      const info = await reloadWorkers(dir, [...ready]);
      currentDir = dir;
      opts.log(
        `kdrec serve: ${ready.size} workers now serve ${dir} (reload took ${((performance.now() - t) / 1000).toFixed(1)} s)`,
      );
      return info;
    });
  /** A worker started on an export that a reload has since replaced catches up on its own. */
  const catchUp = (w: Worker): void => {
    void serialised(async () => {
      if (ready.has(w) && workerDir.get(w) !== currentDir) await reloadWorkers(currentDir, [w]);
    }).catch((err: Error) => {
      opts.log(
        `kdrec serve: worker ${w.process.pid} could not load ${currentDir}: ${err.message}; restarting it`,
      );
      w.kill('SIGTERM');
    });
  };

  /**
   * Numbers `events` and sends them to every live worker (a newcomer still copying its store
   * buffers them); resolves once every serving worker has applied them.
   */
  const storeEvents = async (userId: string, events: UserEvent[]): Promise<void> => {
    const id = ++seq;
    const msg: ClusterMessage = { kdrec: 'apply-events', id, userId, events };
    for (const w of live) if (!ready.has(w)) post(w, msg);
    const acks = await gather<Extract<ClusterMessage, { kdrec: 'events-applied' }>>(
      msg,
      'events-applied',
      EVENTS_TIMEOUT_MS,
    );
    const failed = acks.find((a) => a.error !== undefined);
    if (failed) throw new Error(failed.error);
  };

  /** A newcomer asks for a copy of the store: from a serving sibling, or empty if there is none. */
  const startSync = (to: Worker, id: number): void => {
    const from = [...ready].find((w) => w !== to && w.isConnected());
    if (from === undefined) {
      post(to, { kdrec: 'sync-part', id, seq, part: 0, users: [], last: true });
      return;
    }
    const dumpId = nextId++;
    syncs.set(dumpId, { from, to, id });
    post(from, { kdrec: 'dump', id: dumpId });
  };

  const scrape = async (): Promise<string> => {
    const id = nextId++;
    const snaps = await gather<Extract<ClusterMessage, { kdrec: 'snapshot' }>>(
      { kdrec: 'scrape', id },
      'snapshot',
      SCRAPE_TIMEOUT_MS,
    );
    return opts.renderMetrics(snaps.map((s) => s.metrics));
  };

  let resolveListening: (addr: string) => void = () => {};
  let rejectListening: (err: Error) => void = () => {};
  const listening = new Promise<string>((res, rej) => {
    resolveListening = res;
    rejectListening = rej;
  });
  let started = 0;
  let address = '';

  const fork = (): void => {
    const w = cluster.fork({ [WORKER_EXPORT_ENV]: currentDir });
    let up = false;
    live.add(w);
    workerDir.set(w, currentDir);
    w.on('listening', (a: { address: string; port: number }) => {
      up = true;
      ready.add(w);
      if (workerDir.get(w) !== currentDir) catchUp(w);
      address = `http://${a.address}:${a.port}`;
      if (++started === opts.workers) resolveListening(address);
    });
    w.on('message', (m: unknown) => {
      if (!isClusterMessage(m)) return;
      switch (m.kdrec) {
        case 'reload':
          reload(m.dir).then(
            (info) => post(w, { kdrec: 'reload-result', id: m.id, ok: true, info }),
            (err: Error & { status?: number }) =>
              post(w, {
                kdrec: 'reload-result',
                id: m.id,
                ok: false,
                error: err.message,
                status: err.status ?? 500,
              }),
          );
          return;
        case 'scrape':
          scrape().then(
            (text) => post(w, { kdrec: 'metrics-result', id: m.id, text }),
            (err: Error) =>
              post(w, { kdrec: 'metrics-result', id: m.id, text: `# scrape failed: ${err.message}\n` }),
          );
          return;
        case 'events':
          storeEvents(m.userId, m.events).then(
            () => post(w, { kdrec: 'events-result', id: m.id, ok: true }),
            (err: Error) => post(w, { kdrec: 'events-result', id: m.id, ok: false, error: err.message }),
          );
          return;
        case 'sync':
          startSync(w, m.id);
          return;
        case 'dump-part': {
          const to = syncs.get(m.id);
          if (to === undefined) return;
          post(to.to, { ...m, kdrec: 'sync-part', id: to.id });
          if (m.last) syncs.delete(m.id);
          return;
        }
        case 'prepared':
        case 'committed':
        case 'snapshot':
        case 'events-applied':
          waiting.get(key(m.kdrec, m.id))?.reply(w, m);
          return;
        default:
          return;
      }
    });
    w.on('exit', (code, signal) => {
      live.delete(w);
      ready.delete(w);
      workerDir.delete(w);
      // A sibling that dies while copying its store: the newcomer asks again (from another one).
      // (Its next copy starts with part 0, which makes it drop what it had received.)
      for (const [dumpId, s] of syncs) {
        if (s.to !== w && s.from !== w) continue;
        syncs.delete(dumpId);
        if (s.from === w && live.has(s.to)) startSync(s.to, s.id);
      }
      // A worker gone mid-reload or mid-scrape no longer holds the others up.
      for (const r of [...waiting.values()]) r.recheck();
      if (closing) return;
      if (!up) {
        rejectListening(
          new Error(`worker ${w.process.pid} exited (code ${code}, signal ${signal}) before listening`),
        );
        void close();
        return;
      }
      const now = Date.now();
      restarts.push(now);
      while (restarts.length > 0 && restarts[0]! < now - 60_000) restarts.shift();
      if (restarts.length > MAX_RESTARTS_PER_MINUTE) {
        opts.log(`kdrec serve: workers crashed ${restarts.length} times in a minute; stopping`);
        void close().then(() => process.exit(1));
        return;
      }
      opts.log(
        `kdrec serve: worker ${w.process.pid} exited (code ${code}, signal ${signal}); starting a new one`,
      );
      fork();
    });
  };

  const close = async (): Promise<void> => {
    closing = true;
    await Promise.all(
      [...live].map(
        (w) =>
          new Promise<void>((res) => {
            w.once('exit', () => res());
            w.kill('SIGTERM');
          }),
      ),
    );
  };

  for (let i = 0; i < opts.workers; i++) fork();
  return { listening, reload: (dir) => reload(dir), close };
}

/** The worker's side of the service. */
export interface WorkerHooks {
  prepare(dir: string): Promise<ReloadInfo & { commit(): void }>;
  snapshot(): unknown;
  applyEvents(userId: string, events: UserEvent[]): Promise<void>;
  /** The whole event store, least recently updated user first. */
  dumpEvents(): Promise<UserEntry[]>;
  /** Adds a sibling's dump to this (empty) store, in the dump's order. */
  restoreEvents(users: UserEntry[]): Promise<void>;
}

/**
 * In a worker process: the ClusterLink the service uses, `attach` to answer the primary, and
 * `syncEvents` to copy a serving sibling's event store (call it after `attach`, before listening).
 */
export function workerLink(): {
  link: ClusterLink;
  attach(hooks: WorkerHooks): void;
  syncEvents(): Promise<void>;
} {
  if (!cluster.isWorker || process.send === undefined)
    throw new Error('cluster: workerLink called outside a cluster worker');
  const send = (m: ClusterMessage) => process.send!(m);
  let nextId = 1;
  const pending = new Map<string, (m: ClusterMessage) => void>();
  const ask = <T extends ClusterMessage>(m: ClusterMessage & { id: number }, kind: T['kdrec']) =>
    new Promise<T>((resolve) => {
      pending.set(`${kind}:${m.id}`, (r) => resolve(r as T));
      send(m);
    });
  const staged = new Map<number, () => void>();
  let hooks: WorkerHooks | null = null;
  /**
   * Store changes run one after another in the primary's order (appends are asynchronous for
   * shared stores); a dump joins the same chain, so it holds exactly the events applied before it.
   */
  let chain: Promise<unknown> = Promise.resolve();
  const inOrder = (run: () => Promise<void>): void => {
    chain = chain.then(run, run);
  };
  /** The id of the last `apply-events` applied. */
  let applied = 0;
  /** Until this worker holds its copy of the store, events wait here (null once it does). */
  let pendingEvents: Extract<ClusterMessage, { kdrec: 'apply-events' }>[] | null = [];
  let copy: UserEntry[] = [];
  let synced: { resolve(): void; reject(err: Error): void } | null = null;

  const apply = (m: Extract<ClusterMessage, { kdrec: 'apply-events' }>): void =>
    inOrder(async () => {
      let error: string | undefined;
      try {
        await hooks!.applyEvents(m.userId, m.events);
      } catch (err) {
        // The receiving worker validated these events, so this is the store failing: say so to
        // the client (the POST fails) and in the log, without taking the worker down.
        error = `worker ${process.pid} could not store the events: ${(err as Error).message}`;
        process.stderr.write(`kdrec serve: ${error}\n`);
      }
      applied = m.id;
      send({ kdrec: 'events-applied', id: m.id, ...(error !== undefined ? { error } : {}) });
    });

  process.on('message', (m: unknown) => {
    if (!isClusterMessage(m)) return;
    switch (m.kdrec) {
      case 'reload-result':
      case 'metrics-result':
      case 'events-result': {
        const k = `${m.kdrec}:${m.id}`;
        pending.get(k)?.(m);
        pending.delete(k);
        return;
      }
      case 'prepare':
        if (hooks === null) return;
        hooks.prepare(m.dir).then(
          ({ commit, ...info }) => {
            staged.set(m.id, commit);
            send({ kdrec: 'prepared', id: m.id, ok: true, info });
          },
          (err: Error & { statusCode?: number }) =>
            send({
              kdrec: 'prepared',
              id: m.id,
              ok: false,
              error: err.message,
              status: err.statusCode ?? 400,
            }),
        );
        return;
      case 'commit':
        staged.get(m.id)?.();
        staged.delete(m.id);
        send({ kdrec: 'committed', id: m.id });
        return;
      case 'abort':
        staged.delete(m.id);
        return;
      case 'scrape':
        send({ kdrec: 'snapshot', id: m.id, metrics: hooks?.snapshot() ?? [] });
        return;
      case 'apply-events':
        if (pendingEvents !== null) pendingEvents.push(m);
        else apply(m);
        return;
      case 'dump':
        inOrder(async () => {
          const users = hooks === null ? [] : await hooks.dumpEvents();
          const seq = applied;
          let part = 0;
          for (let i = 0; i === 0 || i < users.length; i += SYNC_USERS_PER_PART)
            send({
              kdrec: 'dump-part',
              id: m.id,
              seq,
              part: part++,
              users: users.slice(i, i + SYNC_USERS_PER_PART),
              last: i + SYNC_USERS_PER_PART >= users.length,
            });
        });
        return;
      case 'sync-part': {
        if (synced === null || pendingEvents === null) return;
        if (m.part === 0) copy = [];
        copy.push(...m.users);
        if (!m.last) return;
        const done = synced;
        const waiting = pendingEvents;
        pendingEvents = null;
        const users = copy;
        copy = [];
        inOrder(async () => {
          try {
            await hooks!.restoreEvents(users);
          } catch (err) {
            done.reject(err as Error);
            return;
          }
          applied = m.seq;
          done.resolve();
        });
        // Events sent after the sibling took its copy: not in it, so applied on top, in order.
        for (const e of waiting) if (e.id > m.seq) apply(e);
        return;
      }
      default:
        return;
    }
  });

  const link: ClusterLink = {
    async reload(dir) {
      const r = await ask<Extract<ClusterMessage, { kdrec: 'reload-result' }>>(
        { kdrec: 'reload', id: nextId++, dir },
        'reload-result',
      );
      if (!r.ok) throw Object.assign(new Error(r.error), { statusCode: r.status });
      return r.info;
    },
    async metrics() {
      const r = await ask<Extract<ClusterMessage, { kdrec: 'metrics-result' }>>(
        { kdrec: 'scrape', id: nextId++ },
        'metrics-result',
      );
      return r.text;
    },
    async storeEvents(userId, events) {
      const r = await ask<Extract<ClusterMessage, { kdrec: 'events-result' }>>(
        { kdrec: 'events', id: nextId++, userId, events: [...events] },
        'events-result',
      );
      if (!r.ok) throw new Error(r.error);
    },
    workerId: String(process.pid),
  };
  return {
    link,
    attach(h) {
      hooks = h;
    },
    syncEvents() {
      if (hooks === null) throw new Error('cluster: syncEvents before attach');
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error('cluster: no copy of the event store arrived in time')),
          SYNC_TIMEOUT_MS,
        );
        synced = {
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
          reject: (err) => {
            clearTimeout(timer);
            reject(err);
          },
        };
        send({ kdrec: 'sync', id: nextId++ });
      });
    },
  };
}
