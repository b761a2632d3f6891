/**
 * `kdrec simulate`: writes a seeded synthetic dataset drawn from the ground-truth `World`
 * (./world.ts) through a non-uniform logging policy, streaming events to disk day by day so
 * 1M users × 1M items × 100M events never hold the events in memory (only one day's request
 * schedule, the trailing-window click log and the latents are resident).
 *
 * Output (all ids are 0-based integers equal to the World's indices; one header line per CSV):
 *
 *   DIR/users.csv   user_id,age_bucket,gender,region
 *                   demographics are noisy functions of the user's latent vector (see world.ts).
 *   DIR/items.csv   item_id,category,shop,clickbait
 *                   shops nest in categories (shop s belongs to category floor(s / shopsPerCategory)).
 *                   `clickbait` ∈ [0,1] (4 decimals) is GROUND TRUTH, written for analysis only:
 *                   readers and models must NOT use it as a feature.
 *   DIR/events.csv  ts,request_id,user_id,item_id,position,click,dwell_s,long_dwell
 *                   one row per exposure; ts = unix seconds, non-decreasing; request_id ascending
 *                   with ts; position 0 = top of the slate; click 0/1; dwell_s integer seconds, 0
 *                   when click = 0; long_dwell = click && dwell_s > 50.
 *   DIR/world.json  { formatVersion, world: WorldParams, simulation: SimulationParams, counts, files }:
 *                   everything needed to rebuild the ground truth (`loadWorld(DIR)`) — the latents
 *                   are regenerated from the seed, not stored.
 *
 * With `format: 'parquet'` users and items are DIR/{users,items}.parquet with the same columns, and
 * the events are partitioned: DIR/events/part-00000.parquet, part-00001.parquet, ... in log order,
 * each holding at most `partEvents` events (whole requests: a slate never straddles two parts), in
 * row groups of exactly `rowGroupSize` rows (the last of each part shorter), zstd-compressed. Read
 * the parts in index order (sort the names) to get the log in ts order. The parts are produced while
 * the simulation runs: each is written as a CSV chunk and converted by DuckDB COPY in the background
 * (one thread) while the next chunk is simulated, then the chunk is deleted, so memory and disk use
 * do not grow with the number of events. world.json's `files.eventParts` lists the parts.
 *
 * Size: `days` simulates that many whole days; `events` instead simulates day after day until exactly
 * that many events are written: the last day is cut short at the N-th event, and the last request's
 * slate is truncated if the N-th event falls inside it (that request logs fewer than `slateSize`
 * exposures). The first N events of an `events: N` run equal the first N events of any `days` run of
 * the same options that has at least N (the day's random streams do not depend on where the run
 * stops). world.json records the days actually simulated (the last possibly partial) and the counts.
 *
 * Every output is written under a temporary name (`*.partial`, the events in DIR/events.partial/)
 * and renamed when complete, world.json last, so an interrupted run never leaves a complete-looking
 * dataset; a previous run's outputs are removed first.
 *
 * Logging policy (the exposure mechanism; NOT the ground truth): per request, ~40 candidates are
 * drawn from (a) the user's home categories by item popularity, (b) the categories and shops of the
 * user's recent clicks, (c) global popularity; each candidate is scored with a noisy estimate of
 * relevance plus popularity, and the top `slateSize` form the slate in score order. Exposure is
 * thus biased toward popular and already-liked items, as in production logs. The logged click at
 * position p is Bernoulli(examination(p) · pClick), the dwell given a click is long (> 50 s) with
 * probability pLongDwell.
 *
 * Same options ⇒ byte-identical CSV files and Parquet files with identical rows: every random draw
 * comes from a stream keyed by (seed, kind, index) (see `keyedRng`). `partEvents` and
 * `rowGroupSize` change only how the rows are cut into files and row groups, never the rows.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { Rng } from '../engine/rng.js';
import { AliasSampler } from './samples.js';
import {
  defaultWorldParams,
  exponential,
  keyedRng,
  latentDot,
  poisson,
  ShortTermState,
  StreamKind,
  validateWorldParams,
  World,
  type WorldParams,
} from './world.js';

export interface SimulationParams {
  /** Days simulated; with `eventLimit`, the last one is cut short at the limit. */
  days: number;
  /**
   * Set when the run was sized by event count (`events` option): the log stops after exactly this
   * many events, truncating the last request's slate if needed. Absent for a whole-days run.
   */
  eventLimit?: number;
  /** Mean requests per user per day (each user's rate is scaled by a lognormal activity). */
  requestsPerUserDay: number;
  slateSize: number;
  candidatesPerRequest: number;
  /** Unix seconds of the start of day 0 (UTC midnight). */
  startTs: number;
  /** Std of the log of per-user activity. */
  activitySpread: number;
  /** Probability that a request starts a new session rather than continuing the current one. */
  newSessionProb: number;
  /** Mean gap between consecutive requests of a session, seconds. */
  meanRequestGapSeconds: number;
  policy: {
    /** Shares of the candidate pool from home categories and from recent clicks; the rest is popular items. */
    homeShare: number;
    recentShare: number;
    relevanceWeight: number;
    relevanceNoise: number;
    popularityWeight: number;
    /** Item sampling weight ∝ exp(popularityExponent · logPop). */
    popularityExponent: number;
  };
  /** Mean of the exponential excess of a long dwell over 50 s, and the range of a short one. */
  meanLongDwellExcessSeconds: number;
}

export interface SimulationCounts {
  requests: number;
  events: number;
  clicks: number;
  longDwells: number;
}

/** The content of DIR/world.json. */
export interface SimulationManifest {
  formatVersion: number;
  world: WorldParams;
  simulation: SimulationParams;
  counts: SimulationCounts;
  /**
   * Paths relative to DIR. `events` is 'events.csv', or 'events' (a folder) for Parquet, whose parts
   * `eventParts` lists in log order.
   */
  files: { users: string; items: string; events: string; eventParts?: string[] };
  /** Parquet only: how the event parts were cut (these never change the rows). */
  parquet?: { partEvents: number; rowGroupSize: number; compression: 'zstd' };
}

export const SIMULATION_FORMAT_VERSION = 1;
/** The threshold of the long-engagement label, seconds (the reading-duration setting's 50 s). */
export const LONG_DWELL_SECONDS = 50;

export interface SimulateOptions {
  out: string;
  users: number;
  items: number;
  /**
   * Whole days to simulate. Exclusive with `events`; when neither is given, SIMULATE_DEFAULTS.days.
   */
  days?: number;
  /**
   * Simulate until exactly this many events are written, however many days that takes (about
   * events / (users × requestsPerUserDay × slateSize)); the last request's slate is truncated if
   * the N-th event falls inside it. Exclusive with `days`.
   */
  events?: number;
  seed: number;
  requestsPerUserDay?: number;
  slateSize?: number;
  candidatesPerRequest?: number;
  format?: 'csv' | 'parquet';
  /** Parquet only: the most events in one part file (default PARQUET_DEFAULTS.partEvents). */
  partEvents?: number;
  /**
   * Parquet only: rows per row group (default PARQUET_DEFAULTS.rowGroupSize). A multiple of 2048:
   * DuckDB writes whole 2048-row vectors, so any other size would silently be rounded up; at most
   * 1,048,576 (the converter's memory grows with it).
   */
  rowGroupSize?: number;
  /** Called after each simulated day; `days` is undefined for an `events`-sized run. */
  onProgress?: (day: number, days: number | undefined, counts: SimulationCounts) => void;
}

export interface SimulationResult extends SimulationCounts {
  manifest: SimulationManifest;
  /** Bytes written for the event table (CSV bytes, before any parquet conversion). */
  eventBytes: number;
  /**
   * World generation, users/items tables, the event stream, and end to end (incl. parquet
   * conversion). `conversionWait` is the part of `events` plus the tail the simulation spent
   * waiting for the background Parquet conversion (0 for CSV): small when conversion overlaps.
   */
  seconds: { world: number; tables: number; events: number; total: number; conversionWait: number };
}

/** The defaults of `kdrec simulate`: the small embedded world (builds in a few seconds). */
export const SIMULATE_DEFAULTS = {
  users: 5000,
  items: 10000,
  days: 3,
  seed: 42,
  requestsPerUserDay: 3,
  slateSize: 10,
  candidatesPerRequest: 40,
} as const;

/**
 * Parquet layout defaults: 32 row groups of 131,072 rows per part (~4.2M events, ~150 MB of CSV
 * chunk on disk at a time, ~15–20 MB of Parquet per part).
 */
export const PARQUET_DEFAULTS = { partEvents: 4_194_304, rowGroupSize: 131_072 } as const;
/** DuckDB's vector size: Parquet row groups are built from whole vectors. */
const DUCKDB_VECTOR = 2048;
/** The largest --row-group-size: the converter's memory grows with it (see ParquetConverter). */
const MAX_ROW_GROUP = 1_048_576;
/** Upper bound on simulated days (also bounds an `events` run that would never end). */
const MAX_DAYS = 36_500;

export function defaultSimulationParams(
  o: Pick<SimulateOptions, 'requestsPerUserDay' | 'slateSize' | 'candidatesPerRequest'> & { days: number },
): SimulationParams {
  const slateSize = o.slateSize ?? SIMULATE_DEFAULTS.slateSize;
  return {
    days: o.days,
    requestsPerUserDay: o.requestsPerUserDay ?? SIMULATE_DEFAULTS.requestsPerUserDay,
    slateSize,
    // The policy needs a pool several times the slate to have something to rank.
    candidatesPerRequest:
      o.candidatesPerRequest ?? Math.max(SIMULATE_DEFAULTS.candidatesPerRequest, 4 * slateSize),
    startTs: 1_704_067_200, // 2024-01-01T00:00:00Z
    activitySpread: 0.6,
    newSessionProb: 0.3,
    meanRequestGapSeconds: 60,
    policy: {
      homeShare: 0.45,
      recentShare: 0.2,
      relevanceWeight: 1,
      relevanceNoise: 0.7,
      popularityWeight: 0.5,
      popularityExponent: 1.2,
    },
    meanLongDwellExcessSeconds: 60,
  };
}

function checkInt(name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new Error(`simulate: ${name} is ${v}, expected an integer in [${min}, ${max}]`);
  }
}

/** Reads DIR/world.json, checking its format version. */
export function readSimulationManifest(dir: string): SimulationManifest {
  const path = join(dir, 'world.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(
      `${path}: cannot read the simulator manifest (${(e as Error).message}); run \`kdrec simulate --out ${dir}\``,
    );
  }
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (m['formatVersion'] !== SIMULATION_FORMAT_VERSION) {
    throw new Error(
      `${path}: field 'formatVersion' is ${JSON.stringify(m['formatVersion'])}, expected ${SIMULATION_FORMAT_VERSION}`,
    );
  }
  validateWorldParams(m['world'], `${path} field 'world'`);
  if (typeof m['simulation'] !== 'object' || m['simulation'] === null) {
    throw new Error(`${path}: field 'simulation' missing, expected an object`);
  }
  return m as unknown as SimulationManifest;
}

/** Rebuilds the ground-truth World of a simulated dataset from DIR/world.json alone. */
export function loadWorld(dir: string): World {
  return new World(readSimulationManifest(dir).world);
}

/**
 * Buffered CSV writer that formats integers straight into a byte buffer and flushes it with one
 * syscall per ~4 MB. Building a JS string per row made garbage collection ~40% of the run time.
 */
class CsvFileWriter {
  private fd: number;
  private buf = Buffer.allocUnsafe(4 << 20);
  private pos = 0;
  private readonly digits = new Uint8Array(20);
  private prefixBuf = Buffer.allocUnsafe(128);
  private prefixLen = 0;
  bytes = 0;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }

  /** Flushes and closes the current file and continues in a new one (`bytes` keeps counting). */
  reopen(path: string): void {
    this.close();
    this.fd = openSync(path, 'w');
  }

  /** Appends a non-negative safe integer followed by `sep` (44 = ',', 10 = newline). */
  int(v: number, sep: number): void {
    if (this.pos > this.buf.length - 64) this.flush();
    const buf = this.buf;
    if (v < 10) {
      buf[this.pos++] = 48 + v;
    } else {
      let k = 0;
      while (v > 0) {
        const q = Math.floor(v / 10);
        this.digits[k++] = 48 + v - q * 10;
        v = q;
      }
      while (k > 0) buf[this.pos++] = this.digits[--k]!;
    }
    buf[this.pos++] = sep;
  }

  /**
   * Sets the row prefix "a,b,c," (the columns shared by all rows of a request), formatted once and
   * copied by `prefix()`.
   */
  setPrefix(a: number, b: number, c: number): void {
    const saveBuf = this.buf;
    const savePos = this.pos;
    this.buf = this.prefixBuf;
    this.pos = 0;
    this.int(a, COMMA);
    this.int(b, COMMA);
    this.int(c, COMMA);
    this.prefixLen = this.pos;
    this.buf = saveBuf;
    this.pos = savePos;
  }

  prefix(): void {
    if (this.pos > this.buf.length - 128) this.flush();
    const buf = this.buf;
    const pb = this.prefixBuf;
    for (let j = 0; j < this.prefixLen; j++) buf[this.pos++] = pb[j]!;
  }

  /** Appends ASCII text. */
  text(s: string): void {
    if (this.pos + s.length > this.buf.length) this.flush();
    if (s.length > this.buf.length)
      throw new Error(`CsvFileWriter: text of ${s.length} chars exceeds the buffer`);
    this.pos += this.buf.write(s, this.pos, 'latin1');
  }

  flush(): void {
    let off = 0;
    while (off < this.pos) off += writeSync(this.fd, this.buf, off, this.pos - off);
    this.bytes += this.pos;
    this.pos = 0;
  }

  /** Flushes and closes; a second call does nothing (so error paths can close unconditionally). */
  close(): void {
    if (this.fd < 0) return;
    this.flush();
    closeSync(this.fd);
    this.fd = -1;
  }
}

/** Growable Int32 column (one day's request schedule). */
class IntColumn {
  data: Int32Array;
  n = 0;
  constructor(capacity: number) {
    this.data = new Int32Array(Math.max(16, capacity));
  }
  push(v: number): void {
    if (this.n === this.data.length) {
      const d = new Int32Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.n++] = v;
  }
}

/**
 * All users' clicks of the trailing window, in time order, with a per-user backward chain
 * (prev = the same user's previous click), so a user's state is a walk over their own recent
 * clicks only. Entries older than the window are dropped at each day boundary and whenever the
 * arrays are full, so the log holds about one window of clicks rather than growing with the days.
 */
class ClickLog {
  ts: Float64Array;
  item: Int32Array;
  prev: Float64Array;
  /** Absolute index of the first stored entry (absolute indices stay valid across compaction). */
  base = 0;
  n = 0;
  readonly userLast: Float64Array;

  constructor(
    nUsers: number,
    capacity: number,
    private readonly windowSeconds: number,
  ) {
    this.ts = new Float64Array(Math.max(16, capacity));
    this.item = new Int32Array(this.ts.length);
    this.prev = new Float64Array(this.ts.length);
    this.userLast = new Float64Array(nUsers).fill(-1);
  }

  /** Appends a click; `ts` must not decrease between calls (requests are served in time order). */
  add(user: number, ts: number, item: number): void {
    // Full: first drop the clicks no later request can see (at or before ts − window), and grow
    // only if that frees less than a quarter (so compaction stays amortised O(1) per click).
    // Without this the day-boundary compaction alone keeps the previous day and today, and the
    // arrays double whenever clicks per day rise.
    if (this.n === this.ts.length) {
      this.compact(ts - this.windowSeconds);
      if (this.n > 0.75 * this.ts.length) this.grow();
    }
    this.ts[this.n] = ts;
    this.item[this.n] = item;
    this.prev[this.n] = this.userLast[user]!;
    this.userLast[user] = this.base + this.n;
    this.n++;
  }

  private grow(): void {
    const cap = this.ts.length * 2;
    const t = new Float64Array(cap);
    t.set(this.ts);
    this.ts = t;
    const it = new Int32Array(cap);
    it.set(this.item);
    this.item = it;
    const p = new Float64Array(cap);
    p.set(this.prev);
    this.prev = p;
  }

  /** Drops entries with ts <= cutoff (they can no longer be in any window). */
  compact(cutoff: number): void {
    let k = 0;
    while (k < this.n && this.ts[k]! <= cutoff) k++;
    if (k === 0) return;
    this.ts.copyWithin(0, k, this.n);
    this.item.copyWithin(0, k, this.n);
    this.prev.copyWithin(0, k, this.n);
    this.n -= k;
    this.base += k;
  }

  /** Fills `out` with the user's clicks in (t − window, t). */
  stateAt(world: World, user: number, t: number, out: ShortTermState): void {
    out.clear();
    const lo = t - world.params.windowSeconds;
    for (let a = this.userLast[user]!; a >= this.base; a = this.prev[a - this.base]!) {
      const j = a - this.base;
      const ts = this.ts[j]!;
      if (ts <= lo) break;
      if (ts >= t) continue;
      const it = this.item[j]!;
      out.push(world.itemCategory[it]!, world.itemShop[it]!);
    }
  }
}

const COMMA = 44;
const NEWLINE = 10;

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Validated output settings of one run. */
interface OutputPlan {
  format: 'csv' | 'parquet';
  partEvents: number;
  rowGroupSize: number;
}

/**
 * Checks the size and layout options together; returns the days to simulate (MAX_DAYS as the
 * bound of an `events` run) and the output plan. Every message names the CLI option.
 */
function checkOptions(opts: SimulateOptions, slateSize: number): { days: number; plan: OutputPlan } {
  if (opts.days !== undefined && opts.events !== undefined) {
    throw new Error(
      'simulate: --days and --events are alternatives: --days D simulates D whole days, --events N ' +
        'simulates until exactly N events (the days follow from --users × --requests-per-user-day × ' +
        '--slate-size); give one of them',
    );
  }
  if (opts.days !== undefined) checkInt('--days', opts.days, 1, MAX_DAYS);
  if (opts.events !== undefined) checkInt('--events', opts.events, 1);
  const format = opts.format ?? 'csv';
  if (format !== 'csv' && format !== 'parquet') {
    throw new Error(`simulate: --format is '${format}', expected csv or parquet`);
  }
  if (format === 'csv') {
    // Accepting them silently would let a user believe the CSV was partitioned.
    for (const [name, v] of [
      ['--part-events', opts.partEvents],
      ['--row-group-size', opts.rowGroupSize],
    ] as const) {
      if (v !== undefined) throw new Error(`simulate: ${name} applies only to --format parquet`);
    }
  }
  const partEvents = opts.partEvents ?? PARQUET_DEFAULTS.partEvents;
  const rowGroupSize = opts.rowGroupSize ?? PARQUET_DEFAULTS.rowGroupSize;
  checkInt('--part-events', partEvents, 1);
  if (partEvents < slateSize) {
    throw new Error(
      `simulate: --part-events is ${partEvents}, below --slate-size ${slateSize}: a part holds whole requests`,
    );
  }
  // The upper bound keeps the converter's memory bounded and is the largest size measured.
  checkInt('--row-group-size', rowGroupSize, DUCKDB_VECTOR, MAX_ROW_GROUP);
  if (rowGroupSize % DUCKDB_VECTOR !== 0) {
    throw new Error(
      `simulate: --row-group-size is ${rowGroupSize}, expected a multiple of ${DUCKDB_VECTOR} ` +
        `(DuckDB builds row groups from whole ${DUCKDB_VECTOR}-row vectors and would round it up to ` +
        `${Math.ceil(rowGroupSize / DUCKDB_VECTOR) * DUCKDB_VECTOR})`,
    );
  }
  return {
    days: opts.days ?? (opts.events !== undefined ? MAX_DAYS : SIMULATE_DEFAULTS.days),
    plan: { format, partEvents, rowGroupSize },
  };
}

/**
 * Simulates the world and writes DIR/{users,items}.{csv|parquet}, DIR/events.csv or the Parquet
 * parts DIR/events/part-NNNNN.parquet, and DIR/world.json (see the module comment for the layout
 * and the temporary names that keep an interrupted run from looking complete).
 */
export async function simulate(opts: SimulateOptions): Promise<SimulationResult> {
  const t0 = performance.now();
  checkInt('--users', opts.users, 1, 2 ** 31 - 1);
  checkInt('--items', opts.items, 1, 2 ** 31 - 1);
  checkInt('--seed', opts.seed, 0, Number.MAX_SAFE_INTEGER);
  const slateSize = opts.slateSize ?? SIMULATE_DEFAULTS.slateSize;
  const { days, plan } = checkOptions(opts, slateSize);
  const sim = defaultSimulationParams({ ...opts, days });
  if (!(Number.isFinite(sim.requestsPerUserDay) && sim.requestsPerUserDay > 0)) {
    throw new Error(`simulate: --requests-per-user-day is ${sim.requestsPerUserDay}, expected a number > 0`);
  }
  checkInt('--slate-size', sim.slateSize, 1, 1000);
  checkInt(
    'candidatesPerRequest (must be >= the slate size)',
    sim.candidatesPerRequest,
    sim.slateSize,
    100000,
  );
  if (opts.events !== undefined) {
    // Refuse up front what cannot finish within MAX_DAYS. users × rate × slate over-estimates a
    // day's events (sessions stop at midnight), so this never refuses a run that would finish.
    const perDay = opts.users * sim.requestsPerUserDay * sim.slateSize;
    if (opts.events / perDay > MAX_DAYS) {
      throw new Error(
        `simulate: --events ${opts.events} needs more than ${Math.ceil(opts.events / perDay)} days at ` +
          `≤ ${perDay} events per day (--users × --requests-per-user-day × --slate-size); the limit is ` +
          `${MAX_DAYS} days: raise --users or --requests-per-user-day`,
      );
    }
    sim.eventLimit = opts.events;
  }
  const { format } = plan;

  const world = new World(defaultWorldParams({ seed: opts.seed, users: opts.users, items: opts.items }));
  const tWorld = performance.now();
  mkdirSync(opts.out, { recursive: true });
  removeStaleOutputs(opts.out);

  const usersTmp = join(opts.out, 'users.csv.partial');
  const itemsTmp = join(opts.out, 'items.csv.partial');
  writeUsers(world, usersTmp);
  writeItems(world, itemsTmp);
  const tTables = performance.now();

  const files: SimulationManifest['files'] = {
    users: `users.${format}`,
    items: `items.${format}`,
    events: format === 'csv' ? 'events.csv' : EVENTS_DIR,
  };
  let counts: SimulationCounts & { eventBytes: number };
  let tEvents: number;
  let conversionWait = 0;
  if (format === 'csv') {
    const eventsTmp = join(opts.out, 'events.csv.partial');
    const f = new CsvFileWriter(eventsTmp);
    try {
      f.text(EVENTS_HEADER);
      counts = await writeEvents(world, sim, { f, partEvents: Infinity, nextPart: noParts }, opts.onProgress);
    } finally {
      f.close();
    }
    tEvents = performance.now();
    renameSync(usersTmp, join(opts.out, files.users));
    renameSync(itemsTmp, join(opts.out, files.items));
    renameSync(eventsTmp, join(opts.out, files.events));
  } else {
    const converter = await ParquetConverter.open(plan.rowGroupSize);
    try {
      // The small tables convert in the background while the first part is simulated.
      converter.submit(usersTmp, join(opts.out, 'users.parquet.partial'), USERS_COLUMNS);
      converter.submit(itemsTmp, join(opts.out, 'items.parquet.partial'), ITEMS_COLUMNS);
      const parts = new EventParts(join(opts.out, `${EVENTS_DIR}.partial`), plan.partEvents, converter);
      try {
        counts = await writeEvents(world, sim, parts.output, opts.onProgress);
      } finally {
        parts.output.f.close();
      }
      tEvents = performance.now();
      await parts.finish();
      files.eventParts = parts.names.map((n) => `${EVENTS_DIR}/${n}`);
      conversionWait = converter.waitSeconds;
    } finally {
      // A failed run may leave a COPY running on the connection: let it end before closing.
      await converter.settle();
      converter.close();
    }
    renameSync(join(opts.out, 'users.parquet.partial'), join(opts.out, files.users));
    renameSync(join(opts.out, 'items.parquet.partial'), join(opts.out, files.items));
    renameSync(join(opts.out, `${EVENTS_DIR}.partial`), join(opts.out, EVENTS_DIR));
  }
  const manifest: SimulationManifest = {
    formatVersion: SIMULATION_FORMAT_VERSION,
    world: world.params,
    simulation: sim,
    counts: {
      requests: counts.requests,
      events: counts.events,
      clicks: counts.clicks,
      longDwells: counts.longDwells,
    },
    files,
    ...(format === 'parquet'
      ? { parquet: { partEvents: plan.partEvents, rowGroupSize: plan.rowGroupSize, compression: 'zstd' } }
      : {}),
  };
  writeFileSync(join(opts.out, 'world.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const tEnd = performance.now();
  return {
    ...manifest.counts,
    manifest,
    eventBytes: counts.eventBytes,
    seconds: {
      world: (tWorld - t0) / 1000,
      tables: (tTables - tWorld) / 1000,
      events: (tEvents - tTables) / 1000,
      total: (tEnd - t0) / 1000,
      conversionWait,
    },
  };
}

/** The Parquet event folder, relative to DIR. */
const EVENTS_DIR = 'events';
/** A part of the event folder: its Parquet file, or (while running) its CSV chunk or temporary file. */
const PART_FILE_RE = /^part-\d{5,}\.(parquet|csv)(\.partial)?$/;

function partName(k: number): string {
  return `part-${String(k).padStart(5, '0')}`;
}

/**
 * Removes a previous run's outputs: a stale events.csv next to new Parquet parts (or a stale
 * world.json next to new tables) would be read as if it belonged to this run. The event folders
 * are removed only if they hold nothing but part files, so pointing --out at a folder with
 * unrelated data in an `events/` subfolder fails instead of deleting it.
 */
function removeStaleOutputs(dir: string): void {
  // Check both folders before deleting anything, so a refusal leaves the previous run intact.
  const folders: { path: string; entries: string[] }[] = [];
  for (const name of [EVENTS_DIR, `${EVENTS_DIR}.partial`]) {
    const path = join(dir, name);
    if (!existsSync(path)) continue;
    if (!statSync(path).isDirectory()) {
      throw new Error(
        `simulate: ${path} exists and is not a folder of event parts; remove it or use another --out`,
      );
    }
    const entries = readdirSync(path);
    const foreign = entries.filter((e) => !PART_FILE_RE.test(e));
    if (foreign.length) {
      throw new Error(
        `simulate: ${path} holds files kdrec simulate did not write (${foreign.slice(0, 5).join(', ')}` +
          `${foreign.length > 5 ? ', ...' : ''}); remove them or use another --out`,
      );
    }
    folders.push({ path, entries });
  }
  for (const name of [
    'world.json',
    ...['users', 'items', 'events'].flatMap((b) => [
      `${b}.csv`,
      `${b}.parquet`,
      `${b}.csv.partial`,
      `${b}.parquet.partial`,
    ]),
  ]) {
    rmSync(join(dir, name), { force: true });
  }
  for (const { path, entries } of folders) {
    for (const e of entries) rmSync(join(path, e));
    rmdirSync(path);
  }
}

/** Where `writeEvents` sends rows: one CSV file, or one CSV chunk per Parquet part. */
interface EventOutput {
  f: CsvFileWriter;
  /** The most rows in one file; a request's slate is never split across files. */
  partEvents: number;
  /** Closes the current file (handing it on) and continues `f` in the next one, header written. */
  nextPart(): Promise<void>;
}

async function noParts(): Promise<void> {
  throw new Error('simulate: internal error: a single CSV output has no parts');
}

/**
 * The Parquet event parts of one run: a CSV chunk per part in `dir` (the temporary events folder),
 * converted in the background by `converter` while the next chunk is written.
 */
class EventParts {
  readonly names: string[] = [];
  readonly output: EventOutput;
  private readonly f: CsvFileWriter;

  constructor(
    private readonly dir: string,
    partEvents: number,
    private readonly converter: ParquetConverter,
  ) {
    mkdirSync(dir);
    this.f = new CsvFileWriter(this.chunkPath(0));
    this.f.text(EVENTS_HEADER);
    this.output = { f: this.f, partEvents, nextPart: () => this.nextPart() };
  }

  private chunkPath(k: number): string {
    return join(this.dir, `${partName(k)}.csv`);
  }

  /** Hands the current chunk to the converter and starts the next one. */
  private async nextPart(): Promise<void> {
    const k = this.names.length;
    // Backpressure: at most one chunk converts while the next is written, so at most two CSV
    // chunks are on disk at any time however long the run.
    await this.converter.idle();
    this.f.reopen(this.chunkPath(k + 1));
    this.f.text(EVENTS_HEADER);
    this.submit(k);
  }

  private submit(k: number): void {
    const name = `${partName(k)}.parquet`;
    this.names.push(name);
    this.converter.submit(this.chunkPath(k), join(this.dir, `${name}.partial`), EVENTS_COLUMNS, () =>
      renameSync(join(this.dir, `${name}.partial`), join(this.dir, name)),
    );
  }

  /** Converts the last chunk (already closed by the caller) and waits for every conversion. */
  async finish(): Promise<void> {
    this.submit(this.names.length);
    await this.converter.idle();
  }
}

/** DuckDB's memory limit for converting with row groups of `rowGroupSize` rows (see `open`). */
function converterMemoryMB(rowGroupSize: number): number {
  return 64 + Math.ceil((rowGroupSize * 192) / 2 ** 20);
}

/**
 * CSV → Parquet conversions with DuckDB COPY, run one at a time in the background. DuckDB runs a
 * query on a libuv worker thread, so a COPY proceeds while the simulation loop keeps the JS thread
 * busy; only its completion waits for the loop to yield (at the next part). One DuckDB thread: the
 * simulation holds one core and conversion (~5M rows/s) is ~15× faster than simulation, so more
 * threads would only contend with it. `parallel = false` reads each CSV with one scanner, whose
 * chunks are whole 2048-row vectors, so every row group but a file's last has exactly
 * `rowGroupSize` rows (the parallel reader's partial chunks at its 8 MB boundaries make groups of
 * rowGroupSize plus up to a vector).
 */
class ParquetConverter {
  private queue: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  /** Seconds spent in `idle()` waiting for conversions to finish. */
  waitSeconds = 0;

  private constructor(
    private readonly db: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    private readonly rowGroupSize: number,
  ) {}

  static async open(rowGroupSize: number): Promise<ParquetConverter> {
    // Loaded on demand: a CSV run never needs the native module.
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    await conn.run('SET threads = 1');
    // Without a limit (default: 80% of RAM) a COPY's peak allocation, and with it the process's
    // RSS, rose with every part (~+450 MB over 4 parts of 4.2M rows, measured), although DuckDB
    // reports nothing in use between COPYs. A COPY needs one ~31 MB CSV buffer plus the row group
    // being encoded; the minimum that worked was 64 MB at 131,072 rows, 96 MB at 262,144, 128 MB at
    // 524,288 and 160 MB at 1,048,576, so this leaves a margin over each.
    await conn.run(`SET memory_limit = '${converterMemoryMB(rowGroupSize)}MB'`);
    return new ParquetConverter(db, conn, rowGroupSize);
  }

  /**
   * Queues the conversion of `csv` to the Parquet file `target`; when it is written, `done` runs and
   * the CSV is deleted. A failure is kept and rethrown by the next `idle()` (a rejected promise
   * nobody awaits yet would be an unhandled rejection).
   */
  submit(csv: string, target: string, columns: Record<string, string>, done?: () => void): void {
    const cols = Object.entries(columns)
      .map(([k, t]) => `'${k}': '${t}'`)
      .join(', ');
    const sql =
      `COPY (SELECT * FROM read_csv('${sqlPath(csv)}', header = true, parallel = false, columns = {${cols}})) ` +
      `TO '${sqlPath(target)}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${this.rowGroupSize})`;
    this.queue = this.queue.then(async () => {
      if (this.failure) return;
      try {
        await this.conn.run(sql);
        done?.();
        rmSync(csv);
      } catch (e) {
        this.failure = new Error(`simulate: converting ${csv} to ${target}: ${(e as Error).message}`);
      }
    });
  }

  /** Waits until every queued conversion is done; throws the first failure. */
  async idle(): Promise<void> {
    const t = performance.now();
    await this.queue;
    this.waitSeconds += (performance.now() - t) / 1000;
    if (this.failure) throw this.failure;
  }

  /** Waits for the queue to drain, ignoring failures (for cleanup after an error). */
  async settle(): Promise<void> {
    await this.queue;
  }

  close(): void {
    this.conn.closeSync();
    this.db.closeSync();
  }
}

const USERS_COLUMNS = { user_id: 'INTEGER', age_bucket: 'INTEGER', gender: 'INTEGER', region: 'INTEGER' };
const ITEMS_COLUMNS = { item_id: 'INTEGER', category: 'INTEGER', shop: 'INTEGER', clickbait: 'FLOAT' };
const EVENTS_HEADER = 'ts,request_id,user_id,item_id,position,click,dwell_s,long_dwell\n';
const EVENTS_COLUMNS = {
  ts: 'BIGINT',
  request_id: 'BIGINT',
  user_id: 'INTEGER',
  item_id: 'INTEGER',
  position: 'INTEGER',
  click: 'TINYINT',
  dwell_s: 'INTEGER',
  long_dwell: 'TINYINT',
};

function writeUsers(world: World, path: string): void {
  const f = new CsvFileWriter(path);
  f.text('user_id,age_bucket,gender,region\n');
  for (let u = 0; u < world.nUsers; u++) {
    f.int(u, COMMA);
    f.int(world.userAge[u]!, COMMA);
    f.int(world.userGender[u]!, COMMA);
    f.int(world.userRegion[u]!, NEWLINE);
  }
  f.close();
}

function writeItems(world: World, path: string): void {
  const f = new CsvFileWriter(path);
  f.text('item_id,category,shop,clickbait\n');
  for (let i = 0; i < world.nItems; i++) {
    f.int(i, COMMA);
    f.int(world.itemCategory[i]!, COMMA);
    f.int(world.itemShop[i]!, COMMA);
    f.text(`${world.itemClickbait[i]!.toFixed(4)}\n`);
  }
  f.close();
}

/** The logging policy's item sampler: popularity-weighted, globally and within a category (O(1) alias draws). */
class CandidateSampler {
  private readonly global: AliasSampler;
  /** One sampler per category over its items (catItems order); null for an empty category. */
  private readonly perCategory: (AliasSampler | null)[];

  constructor(
    private readonly world: World,
    exponent: number,
  ) {
    const w = new Float64Array(world.nItems);
    for (let i = 0; i < world.nItems; i++) w[i] = Math.exp(exponent * world.itemLogPop[i]!);
    this.global = new AliasSampler(w);
    this.perCategory = [];
    for (let k = 0; k < world.params.categories; k++) {
      const lo = world.catStart[k]!;
      const hi = world.catStart[k + 1]!;
      const cw = new Float64Array(hi - lo);
      for (let j = lo; j < hi; j++) cw[j - lo] = w[world.catItems[j]!]!;
      this.perCategory.push(hi > lo ? new AliasSampler(cw) : null);
    }
  }

  popular(r: Rng): number {
    return this.global.sample(r);
  }

  /** A popularity-weighted item of category k, or −1 when the category is empty. */
  inCategory(r: Rng, k: number): number {
    const s = this.perCategory[k];
    return s ? this.world.catItems[this.world.catStart[k]! + s.sample(r)]! : -1;
  }

  /** A uniform item of shop s, or −1 when the shop is empty. */
  inShop(r: Rng, s: number): number {
    const lo = this.world.shopStart[s]!;
    const hi = this.world.shopStart[s + 1]!;
    if (lo === hi) return -1;
    return this.world.shopItems[lo + r.int(hi - lo)]!;
  }
}

/**
 * Streams the event table day by day into `out`, for `sim.days` days or, with `sim.eventLimit`,
 * until exactly that many events (then `sim.days` is set to the days begun). Returns the counts
 * and CSV bytes written.
 */
async function writeEvents(
  world: World,
  sim: SimulationParams,
  out: EventOutput,
  onProgress: SimulateOptions['onProgress'],
): Promise<SimulationCounts & { eventBytes: number }> {
  const p = world.params;
  const nUsers = world.nUsers;
  const day = 86_400;
  const { f, partEvents } = out;
  const limit = sim.eventLimit ?? Infinity;
  let partRows = 0;

  // Per-user activity (lognormal, mean 1) scales the request rate.
  const activity = new Float32Array(nUsers);
  const s2 = sim.activitySpread * sim.activitySpread;
  for (let u = 0; u < nUsers; u++) {
    activity[u] = Math.exp(sim.activitySpread * keyedRng(p.seed, StreamKind.activity, u).normal() - s2 / 2);
  }
  const sampler = new CandidateSampler(world, sim.policy.popularityExponent);
  const expectedPerDay = Math.ceil(nUsers * sim.requestsPerUserDay * 1.2) + 1024;
  const log = new ClickLog(nUsers, Math.ceil(expectedPerDay * sim.slateSize * 0.1), p.windowSeconds);
  const state = new ShortTermState();
  const stamp = new Int32Array(world.nItems).fill(-1);
  const K = sim.candidatesPerRequest;
  const S = sim.slateSize;
  const cand = new Int32Array(K);
  const clicked = new Int32Array(S);
  const candAff = new Float64Array(K);
  const candScore = new Float64Array(K);
  const exam = Float64Array.from({ length: S }, (_, i) => world.examination(i));
  const { homeShare, recentShare, relevanceWeight, relevanceNoise, popularityWeight } = sim.policy;
  const nHome = Math.round(K * homeShare);
  const nRecent = Math.round(K * recentShare);
  const d = world.dim;

  const counts = { requests: 0, events: 0, clicks: 0, longDwells: 0 };
  let requestId = 0;
  let dd = 0;
  for (; dd < sim.days && counts.events < limit; dd++) {
    const dayStart = sim.startTs + dd * day;
    log.compact(dayStart - p.windowSeconds);

    // 1. This day's request schedule: sessions of requests per user.
    const reqUser = new IntColumn(expectedPerDay);
    const reqSec = new IntColumn(expectedPerDay);
    for (let u = 0; u < nUsers; u++) {
      const r = keyedRng(p.seed, StreamKind.schedule, dd * nUsers + u);
      const n = poisson(r, sim.requestsPerUserDay * activity[u]!);
      let t = day;
      for (let k = 0; k < n; k++) {
        if (k === 0 || r.nextFloat() < sim.newSessionProb) t = r.int(day - 3600);
        else t += 1 + Math.floor(exponential(r, sim.meanRequestGapSeconds));
        if (t >= day) continue; // a session running past midnight stops there
        reqUser.push(u);
        reqSec.push(t);
      }
    }
    // Sort by (second, schedule index): key = sec·2^32 + index < 2^49, exact in float64.
    const nReq = reqUser.n;
    const keys = new Float64Array(nReq);
    for (let q = 0; q < nReq; q++) keys[q] = reqSec.data[q]! * 4294967296 + q;
    keys.sort();

    // 2. Serve the requests in time order.
    const r = keyedRng(p.seed, StreamKind.events, dd);
    for (let q = 0; q < nReq; q++) {
      const idx = keys[q]! % 4294967296;
      const u = reqUser.data[idx]!;
      const ts = dayStart + reqSec.data[idx]!;
      log.stateAt(world, u, ts, state);

      // Candidate pool (deduplicated with a per-request stamp).
      let nc = 0;
      for (let a = 0; a < 2 * K && nc < K; a++) {
        let i: number;
        if (a < nHome) {
          // Home categories by mixture weight.
          let x = r.nextFloat();
          let h = 0;
          while (h < 2 && world.userHome[u * 3 + h + 1]! >= 0 && x >= world.userHomeWeight[u * 3 + h]!) {
            x -= world.userHomeWeight[u * 3 + h]!;
            h++;
          }
          i = sampler.inCategory(r, world.userHome[u * 3 + h]!);
        } else if (a < nHome + nRecent && state.n > 0) {
          const j = r.int(state.n);
          i =
            r.nextFloat() < 0.5
              ? sampler.inCategory(r, state.categories[j]!)
              : sampler.inShop(r, state.shops[j]!);
        } else {
          i = sampler.popular(r);
        }
        if (i >= 0 && stamp[i] !== requestId) {
          stamp[i] = requestId;
          cand[nc++] = i;
        }
      }

      // Policy score: noisy relevance + popularity; the top S in score order form the slate.
      const uo = u * d;
      for (let c = 0; c < nc; c++) {
        const aff = latentDot(world.userVec, uo, world.itemVec, cand[c]! * d, d);
        candAff[c] = aff;
        candScore[c] =
          relevanceWeight * (aff + relevanceNoise * r.normal()) +
          popularityWeight * world.itemLogPop[cand[c]!]!;
      }
      // The event limit truncates the last slate; the positions kept draw exactly as untruncated.
      const slate = Math.min(S, nc, limit - counts.events);
      if (partRows + slate > partEvents) {
        await out.nextPart();
        partRows = 0;
      }
      partRows += slate;
      f.setPrefix(ts, requestId, u);
      let nClicked = 0;
      for (let pos = 0; pos < slate; pos++) {
        // Selection sort step: move the best remaining candidate to `pos`.
        let best = pos;
        for (let c = pos + 1; c < nc; c++) if (candScore[c]! > candScore[best]!) best = c;
        if (best !== pos) {
          swap(cand, pos, best);
          swap(candAff, pos, best);
          swap(candScore, pos, best);
        }
        const i = cand[pos]!;
        const cat = world.itemCategory[i]!;
        const cc = state.n > 0 ? state.categoryCount(cat) : 0;
        const sc = state.n > 0 ? state.shopCount(world.itemShop[i]!) : 0;
        const pClick = sigmoid(world.clickLogit(u, i, candAff[pos]!, cc, sc));
        let click = 0;
        let dwell = 0;
        let long = 0;
        if (r.nextFloat() < exam[pos]! * pClick) {
          click = 1;
          const pLong = sigmoid(world.longDwellLogit(i, candAff[pos]!, cc));
          if (r.nextFloat() < pLong) {
            long = 1;
            dwell = LONG_DWELL_SECONDS + 1 + Math.floor(exponential(r, sim.meanLongDwellExcessSeconds));
          } else {
            dwell = 1 + r.int(LONG_DWELL_SECONDS);
          }
          counts.clicks++;
          counts.longDwells += long;
          clicked[nClicked++] = i;
        }
        f.prefix();
        f.int(i, COMMA);
        f.int(pos, COMMA);
        f.int(click, COMMA);
        f.int(dwell, COMMA);
        f.int(long, NEWLINE);
      }
      counts.events += slate;
      // Clicks enter the log after the whole slate: a request never sees its own clicks.
      for (let c = 0; c < nClicked; c++) log.add(u, ts, clicked[c]!);
      requestId++;
      counts.requests++;
      if (counts.events === limit) break;
    }
    onProgress?.(dd + 1, sim.eventLimit === undefined ? sim.days : undefined, { ...counts });
  }
  if (sim.eventLimit !== undefined && counts.events < limit) {
    // Only reachable when the up-front estimate in simulate() was far off (e.g. tiny catalogues
    // whose slates are shorter than --slate-size).
    throw new Error(
      `simulate: only ${counts.events} of --events ${limit} after ${sim.days} days (the limit); ` +
        'raise --users or --requests-per-user-day',
    );
  }
  sim.days = dd;
  f.flush();
  return { ...counts, eventBytes: f.bytes };
}

function swap(a: Int32Array | Float64Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}

function sqlPath(p: string): string {
  return p.replaceAll("'", "''");
}
