/**
 * The online half of as-of-request user state (issue 9, item 2): a bounded per-user event store fed
 * by `POST /events`, and the encoder that turns a user's stored (plus request-carried) events into
 * the user tower's user-state inputs at request time.
 *
 * The features are computed by `computeUserState` and normalised by `normalizeUserState` of
 * src/data/userState.ts, the very functions that built the training columns: the offline log is the
 * whole dataset, the online log is one user's history, and the query is the request time. Items map
 * through the export's catalogue columns (item row → item-id table row, item row → key ids), which
 * are the dataset catalogue's columns, and the layout (which features, N, windows, labels) is read
 * from the export's schema. So online and offline features agree for the same event history
 * (test/serve/userStateStore.test.ts checks this row by row).
 *
 * Bounds: a store keeps at most `maxEventsPerUser` newest events per user and `maxUsers` users
 * (least recently updated evicted first), so memory is O(maxUsers · maxEventsPerUser). A user with
 * more events inside a window than the store keeps gets a count saturated at the bound, where the
 * offline count (over the full log) keeps growing: choose the bound above lastN and the busiest
 * user's events per longest window. Timestamps are truncated to whole seconds, the logs'
 * resolution, so "an event in the request's second is invisible" means the same thing online.
 *
 * `UserStateStore` is asynchronous so a shared store (e.g. Redis: one sorted set per user scored by
 * time, trimmed with ZREMRANGEBYRANK to the bound, EXPIRE for idle users) can implement it;
 * `MemoryUserStateStore` is the in-process one.
 */
import type { Batch, Columns } from '../data/batch.js';
import type { Schema } from '../data/schema.js';
import {
  isUserStateSource,
  type UserStateCatalog,
  type UserStateColumns,
  type UserStateLayout,
  userStateCatalog,
  userStateLayout,
  userStateOfHistory,
} from '../data/userState.js';

/** One interaction as the service receives it. */
export interface UserEvent {
  itemId: string;
  /** Unix seconds (truncated to whole seconds when stored). */
  ts: number;
  /** Label values by label name, e.g. `{ click: 1, long_dwell: 0 }`; absent labels count as 0. */
  labels?: Readonly<Record<string, number>>;
}

/** A per-user event history; oldest first. Implementations bound what they keep. */
export interface UserStateStore {
  append(userId: string, events: readonly UserEvent[]): Promise<void>;
  /** The user's kept events in time order (ties in arrival order); empty for an unknown user. */
  history(userId: string): Promise<readonly UserEvent[]>;
  /** Users currently held. */
  users(): Promise<number>;
  /**
   * Every user's kept events, least recently updated first: how a process copies its store to a
   * new sibling (./cluster.ts). Bounded by the store's own bounds.
   */
  snapshot(): Promise<[userId: string, events: UserEvent[]][]>;
  /** Adds a `snapshot` (of a store with the same bounds) to this one, keeping its order. */
  restore(users: readonly (readonly [string, readonly UserEvent[]])[]): Promise<void>;
}

export interface MemoryStoreOptions {
  /** Newest events kept per user (default 500). */
  maxEventsPerUser?: number;
  /** Users kept; the least recently updated is evicted beyond it (default 100 000). */
  maxUsers?: number;
}

/** Checks one raw event; `at` names it in errors (e.g. `events[3]`). */
export function checkUserEvent(e: UserEvent, at: string): UserEvent {
  if (typeof e.itemId !== 'string' || e.itemId === '')
    throw new Error(`${at}.item_id: expected a non-empty item id string, got ${JSON.stringify(e.itemId)}`);
  if (typeof e.ts !== 'number' || !Number.isFinite(e.ts) || e.ts < 0)
    throw new Error(`${at}.ts: expected unix seconds (a finite number >= 0), got ${JSON.stringify(e.ts)}`);
  const labels: Record<string, number> = {};
  for (const [k, v] of Object.entries(e.labels ?? {})) {
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new Error(`${at}.labels.${k}: expected a finite number, got ${JSON.stringify(v)}`);
    labels[k] = v;
  }
  return { itemId: e.itemId, ts: Math.floor(e.ts), labels };
}

export class MemoryUserStateStore implements UserStateStore {
  readonly maxEventsPerUser: number;
  readonly maxUsers: number;
  /** Insertion order of the Map is the eviction order (re-inserted on every append). */
  private readonly byUser = new Map<string, UserEvent[]>();

  constructor(opts: MemoryStoreOptions = {}) {
    this.maxEventsPerUser = opts.maxEventsPerUser ?? 500;
    this.maxUsers = opts.maxUsers ?? 100_000;
    for (const [k, v] of [
      ['maxEventsPerUser', this.maxEventsPerUser],
      ['maxUsers', this.maxUsers],
    ] as const) {
      if (!Number.isInteger(v) || v < 1)
        throw new Error(`MemoryUserStateStore: ${k} must be an integer >= 1, got ${v}`);
    }
  }

  async append(userId: string, events: readonly UserEvent[]): Promise<void> {
    if (typeof userId !== 'string' || userId === '') throw new Error('user_id: expected a non-empty string');
    // Validate everything before changing anything: a bad event rejects the whole request.
    const clean = events.map((e, i) => checkUserEvent(e, `events[${i}]`));
    const list = this.byUser.get(userId) ?? [];
    for (const e of clean) {
      // Insert after every event with ts <= e.ts: time order, ties in arrival order.
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (list[mid]!.ts <= e.ts) lo = mid + 1;
        else hi = mid;
      }
      list.splice(lo, 0, e);
    }
    if (list.length > this.maxEventsPerUser) list.splice(0, list.length - this.maxEventsPerUser);
    this.byUser.delete(userId);
    this.byUser.set(userId, list);
    while (this.byUser.size > this.maxUsers) {
      const oldest = this.byUser.keys().next().value as string;
      this.byUser.delete(oldest);
    }
  }

  async history(userId: string): Promise<readonly UserEvent[]> {
    return this.byUser.get(userId) ?? [];
  }

  async users(): Promise<number> {
    return this.byUser.size;
  }

  async snapshot(): Promise<[string, UserEvent[]][]> {
    return [...this.byUser].map(([u, list]) => [u, list.slice()]);
  }

  async restore(users: readonly (readonly [string, readonly UserEvent[]])[]): Promise<void> {
    // append() re-checks every event and re-applies the bounds; in snapshot order, the eviction
    // order comes out the same.
    for (const [u, events] of users) await this.append(u, events);
  }
}

/**
 * Computes an export's user-state inputs at request time. Built once per loaded export from its
 * schema and catalogue; null from `forExport` when the export's model reads no user state.
 */
export class OnlineUserState {
  readonly layout: UserStateLayout;
  private readonly catalog: UserStateCatalog;

  constructor(
    private readonly schema: Schema,
    items: Columns,
    private readonly itemRow: ReadonlyMap<string, number>,
    where: string,
  ) {
    const layout = userStateLayout(schema);
    if (layout === null) throw new Error(`${where}: the schema declares no user-state fields`);
    this.layout = layout;
    this.catalog = userStateCatalog(layout, items, where);
  }

  /** For an export whose request fields include user-state fields; null otherwise. */
  static forExport(b: {
    schema: Schema;
    items: Columns;
    itemRow: ReadonlyMap<string, number>;
    requestFields: readonly { source: string }[];
    dir: string;
  }): OnlineUserState | null {
    if (!b.requestFields.some((f) => isUserStateSource(f.source))) return null;
    return new OnlineUserState(b.schema, b.items, b.itemRow, `export ${b.dir}`);
  }

  /** Normalised user-state columns (one row) of a history as of time `t` (unix seconds). */
  features(history: readonly UserEvent[], t: number): UserStateColumns {
    const rows = history.map((e) => ({
      itemRow: this.itemRow.get(e.itemId) ?? -1,
      ts: e.ts,
      ...(e.labels !== undefined ? { labels: e.labels } : {}),
    }));
    return userStateOfHistory(this.layout, this.catalog, rows, t, this.schema);
  }

  /** Writes the columns into a one-row request batch (replacing whatever the encoder put there). */
  apply(batch: Batch, cols: UserStateColumns): Batch {
    for (const [name, col] of Object.entries(cols.seq)) batch.seq[name] = col;
    for (const [name, col] of Object.entries(cols.num)) batch.num[name] = col;
    return batch;
  }
}
