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
 *   DIR/world.json  { formatVersion, world: WorldParams, simulation: SimulationParams, counts }:
 *                   everything needed to rebuild the ground truth (`loadWorld(DIR)`) — the latents
 *                   are regenerated from the seed, not stored.
 *
 * With `format: 'parquet'` the three tables are DIR/{users,items,events}.parquet with the same
 * columns (the CSVs are streamed through DuckDB COPY and removed).
 *
 * Logging policy (the exposure mechanism; NOT the ground truth): per request, ~40 candidates are
 * drawn from (a) the user's home categories by item popularity, (b) the categories and shops of the
 * user's recent clicks, (c) global popularity; each candidate is scored with a noisy estimate of
 * relevance plus popularity, and the top `slateSize` form the slate in score order. Exposure is
 * thus biased toward popular and already-liked items, as in production logs. The logged click at
 * position p is Bernoulli(examination(p) · pClick), the dwell given a click is long (> 50 s) with
 * probability pLongDwell.
 *
 * Same options ⇒ byte-identical files: every random draw comes from a stream keyed by
 * (seed, kind, index) (see `keyedRng`).
 */
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync, } from 'node:fs';
import { join } from 'node:path';
import { AliasSampler } from './samples.js';
import { defaultWorldParams, exponential, keyedRng, latentDot, poisson, ShortTermState, StreamKind, validateWorldParams, World, } from './world.js';
export const SIMULATION_FORMAT_VERSION = 1;
/** The threshold of the long-engagement label, seconds (the reading-duration setting's 50 s). */
export const LONG_DWELL_SECONDS = 50;
/** The defaults of `kdrec simulate`: the small embedded world (builds in a few seconds). */
export const SIMULATE_DEFAULTS = {
    users: 5000,
    items: 10000,
    days: 3,
    seed: 42,
    requestsPerUserDay: 3,
    slateSize: 10,
    candidatesPerRequest: 40,
};
export function defaultSimulationParams(o) {
    return {
        days: o.days,
        requestsPerUserDay: o.requestsPerUserDay ?? SIMULATE_DEFAULTS.requestsPerUserDay,
        slateSize: o.slateSize ?? SIMULATE_DEFAULTS.slateSize,
        candidatesPerRequest: o.candidatesPerRequest ?? SIMULATE_DEFAULTS.candidatesPerRequest,
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
function checkInt(name, v, min, max = Number.MAX_SAFE_INTEGER) {
    if (!Number.isInteger(v) || v < min || v > max) {
        throw new Error(`simulate: ${name} is ${v}, expected an integer in [${min}, ${max}]`);
    }
}
/** Reads DIR/world.json, checking its format version. */
export function readSimulationManifest(dir) {
    const path = join(dir, 'world.json');
    let text;
    try {
        text = readFileSync(path, 'utf8');
    }
    catch (e) {
        throw new Error(`${path}: cannot read the simulator manifest (${e.message}); run \`kdrec simulate --out ${dir}\``);
    }
    let m;
    try {
        m = JSON.parse(text);
    }
    catch (e) {
        throw new Error(`${path}: not valid JSON (${e.message})`);
    }
    if (m['formatVersion'] !== SIMULATION_FORMAT_VERSION) {
        throw new Error(`${path}: field 'formatVersion' is ${JSON.stringify(m['formatVersion'])}, expected ${SIMULATION_FORMAT_VERSION}`);
    }
    validateWorldParams(m['world'], `${path} field 'world'`);
    if (typeof m['simulation'] !== 'object' || m['simulation'] === null) {
        throw new Error(`${path}: field 'simulation' missing, expected an object`);
    }
    return m;
}
/** Rebuilds the ground-truth World of a simulated dataset from DIR/world.json alone. */
export function loadWorld(dir) {
    return new World(readSimulationManifest(dir).world);
}
/**
 * Buffered CSV writer that formats integers straight into a byte buffer and flushes it with one
 * syscall per ~4 MB. Building a JS string per row made garbage collection ~40% of the run time.
 */
class CsvFileWriter {
    path;
    fd;
    buf = Buffer.allocUnsafe(4 << 20);
    pos = 0;
    digits = new Uint8Array(20);
    prefixBuf = Buffer.allocUnsafe(128);
    prefixLen = 0;
    bytes = 0;
    constructor(path) {
        this.path = path;
        this.fd = openSync(path, 'w');
    }
    /** Appends a non-negative safe integer followed by `sep` (44 = ',', 10 = newline). */
    int(v, sep) {
        if (this.pos > this.buf.length - 64)
            this.flush();
        const buf = this.buf;
        if (v < 10) {
            buf[this.pos++] = 48 + v;
        }
        else {
            let k = 0;
            while (v > 0) {
                const q = Math.floor(v / 10);
                this.digits[k++] = 48 + v - q * 10;
                v = q;
            }
            while (k > 0)
                buf[this.pos++] = this.digits[--k];
        }
        buf[this.pos++] = sep;
    }
    /**
     * Sets the row prefix "a,b,c," (the columns shared by all rows of a request), formatted once and
     * copied by `prefix()`.
     */
    setPrefix(a, b, c) {
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
    prefix() {
        if (this.pos > this.buf.length - 128)
            this.flush();
        const buf = this.buf;
        const pb = this.prefixBuf;
        for (let j = 0; j < this.prefixLen; j++)
            buf[this.pos++] = pb[j];
    }
    /** Appends ASCII text. */
    text(s) {
        if (this.pos + s.length > this.buf.length)
            this.flush();
        if (s.length > this.buf.length)
            throw new Error(`CsvFileWriter: text of ${s.length} chars exceeds the buffer`);
        this.pos += this.buf.write(s, this.pos, 'latin1');
    }
    flush() {
        let off = 0;
        while (off < this.pos)
            off += writeSync(this.fd, this.buf, off, this.pos - off);
        this.bytes += this.pos;
        this.pos = 0;
    }
    close() {
        this.flush();
        closeSync(this.fd);
    }
}
/** Growable Int32 column (one day's request schedule). */
class IntColumn {
    data;
    n = 0;
    constructor(capacity) {
        this.data = new Int32Array(Math.max(16, capacity));
    }
    push(v) {
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
 * clicks only. Entries older than the window are dropped at each day boundary.
 */
class ClickLog {
    ts;
    item;
    prev;
    /** Absolute index of the first stored entry (absolute indices stay valid across compaction). */
    base = 0;
    n = 0;
    userLast;
    constructor(nUsers, capacity) {
        this.ts = new Float64Array(Math.max(16, capacity));
        this.item = new Int32Array(this.ts.length);
        this.prev = new Float64Array(this.ts.length);
        this.userLast = new Float64Array(nUsers).fill(-1);
    }
    add(user, ts, item) {
        if (this.n === this.ts.length) {
            const cap = this.n * 2;
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
        this.ts[this.n] = ts;
        this.item[this.n] = item;
        this.prev[this.n] = this.userLast[user];
        this.userLast[user] = this.base + this.n;
        this.n++;
    }
    /** Drops entries with ts <= cutoff (they can no longer be in any window). */
    compact(cutoff) {
        let k = 0;
        while (k < this.n && this.ts[k] <= cutoff)
            k++;
        if (k === 0)
            return;
        this.ts.copyWithin(0, k, this.n);
        this.item.copyWithin(0, k, this.n);
        this.prev.copyWithin(0, k, this.n);
        this.n -= k;
        this.base += k;
    }
    /** Fills `out` with the user's clicks in (t − window, t). */
    stateAt(world, user, t, out) {
        out.clear();
        const lo = t - world.params.windowSeconds;
        for (let a = this.userLast[user]; a >= this.base; a = this.prev[a - this.base]) {
            const j = a - this.base;
            const ts = this.ts[j];
            if (ts <= lo)
                break;
            if (ts >= t)
                continue;
            const it = this.item[j];
            out.push(world.itemCategory[it], world.itemShop[it]);
        }
    }
}
const COMMA = 44;
const NEWLINE = 10;
function sigmoid(x) {
    return 1 / (1 + Math.exp(-x));
}
/**
 * Simulates the world and writes DIR/{users,items,events}.{csv|parquet} and DIR/world.json.
 * Files are written under temporary names and renamed at the end, so an interrupted run never
 * leaves a complete-looking dataset.
 */
export async function simulate(opts) {
    const t0 = performance.now();
    checkInt('--users', opts.users, 1, 2 ** 31 - 1);
    checkInt('--items', opts.items, 1, 2 ** 31 - 1);
    checkInt('--days', opts.days, 1, 36500);
    checkInt('--seed', opts.seed, 0, Number.MAX_SAFE_INTEGER);
    const sim = defaultSimulationParams(opts);
    if (!(Number.isFinite(sim.requestsPerUserDay) && sim.requestsPerUserDay > 0)) {
        throw new Error(`simulate: --requests-per-user-day is ${sim.requestsPerUserDay}, expected a number > 0`);
    }
    checkInt('--slate-size', sim.slateSize, 1, 1000);
    checkInt('candidatesPerRequest', sim.candidatesPerRequest, sim.slateSize, 100000);
    const format = opts.format ?? 'csv';
    if (format !== 'csv' && format !== 'parquet') {
        throw new Error(`simulate: --format is '${format}', expected csv or parquet`);
    }
    const world = new World(defaultWorldParams({ seed: opts.seed, users: opts.users, items: opts.items }));
    const tWorld = performance.now();
    mkdirSync(opts.out, { recursive: true });
    // Remove a previous run's outputs first: a stale events.csv next to a new events.parquet (or a
    // stale world.json next to new tables) would be read as if it belonged to this run.
    for (const name of [
        'world.json',
        ...['users', 'items', 'events'].flatMap((b) => [`${b}.csv`, `${b}.parquet`]),
    ]) {
        rmSync(join(opts.out, name), { force: true });
    }
    const usersTmp = join(opts.out, 'users.csv.partial');
    const itemsTmp = join(opts.out, 'items.csv.partial');
    const eventsTmp = join(opts.out, 'events.csv.partial');
    writeUsers(world, usersTmp);
    writeItems(world, itemsTmp);
    const tTables = performance.now();
    const counts = writeEvents(world, sim, eventsTmp, opts.onProgress);
    const tEvents = performance.now();
    const files = { users: `users.${format}`, items: `items.${format}`, events: `events.${format}` };
    if (format === 'csv') {
        renameSync(usersTmp, join(opts.out, files.users));
        renameSync(itemsTmp, join(opts.out, files.items));
        renameSync(eventsTmp, join(opts.out, files.events));
    }
    else {
        await csvToParquet(opts.out, [
            [usersTmp, files.users, USERS_COLUMNS],
            [itemsTmp, files.items, ITEMS_COLUMNS],
            [eventsTmp, files.events, EVENTS_COLUMNS],
        ]);
    }
    const manifest = {
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
        },
    };
}
const USERS_COLUMNS = { user_id: 'INTEGER', age_bucket: 'INTEGER', gender: 'INTEGER', region: 'INTEGER' };
const ITEMS_COLUMNS = { item_id: 'INTEGER', category: 'INTEGER', shop: 'INTEGER', clickbait: 'FLOAT' };
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
function writeUsers(world, path) {
    const f = new CsvFileWriter(path);
    f.text('user_id,age_bucket,gender,region\n');
    for (let u = 0; u < world.nUsers; u++) {
        f.int(u, COMMA);
        f.int(world.userAge[u], COMMA);
        f.int(world.userGender[u], COMMA);
        f.int(world.userRegion[u], NEWLINE);
    }
    f.close();
}
function writeItems(world, path) {
    const f = new CsvFileWriter(path);
    f.text('item_id,category,shop,clickbait\n');
    for (let i = 0; i < world.nItems; i++) {
        f.int(i, COMMA);
        f.int(world.itemCategory[i], COMMA);
        f.int(world.itemShop[i], COMMA);
        f.text(`${world.itemClickbait[i].toFixed(4)}\n`);
    }
    f.close();
}
/** The logging policy's item sampler: popularity-weighted, globally and within a category (O(1) alias draws). */
class CandidateSampler {
    world;
    global;
    /** One sampler per category over its items (catItems order); null for an empty category. */
    perCategory;
    constructor(world, exponent) {
        this.world = world;
        const w = new Float64Array(world.nItems);
        for (let i = 0; i < world.nItems; i++)
            w[i] = Math.exp(exponent * world.itemLogPop[i]);
        this.global = new AliasSampler(w);
        this.perCategory = [];
        for (let k = 0; k < world.params.categories; k++) {
            const lo = world.catStart[k];
            const hi = world.catStart[k + 1];
            const cw = new Float64Array(hi - lo);
            for (let j = lo; j < hi; j++)
                cw[j - lo] = w[world.catItems[j]];
            this.perCategory.push(hi > lo ? new AliasSampler(cw) : null);
        }
    }
    popular(r) {
        return this.global.sample(r);
    }
    /** A popularity-weighted item of category k, or −1 when the category is empty. */
    inCategory(r, k) {
        const s = this.perCategory[k];
        return s ? this.world.catItems[this.world.catStart[k] + s.sample(r)] : -1;
    }
    /** A uniform item of shop s, or −1 when the shop is empty. */
    inShop(r, s) {
        const lo = this.world.shopStart[s];
        const hi = this.world.shopStart[s + 1];
        if (lo === hi)
            return -1;
        return this.world.shopItems[lo + r.int(hi - lo)];
    }
}
/** Streams the event table day by day; returns the counts and bytes written. */
function writeEvents(world, sim, path, onProgress) {
    const p = world.params;
    const nUsers = world.nUsers;
    const day = 86_400;
    const f = new CsvFileWriter(path);
    f.text('ts,request_id,user_id,item_id,position,click,dwell_s,long_dwell\n');
    // Per-user activity (lognormal, mean 1) scales the request rate.
    const activity = new Float32Array(nUsers);
    const s2 = sim.activitySpread * sim.activitySpread;
    for (let u = 0; u < nUsers; u++) {
        activity[u] = Math.exp(sim.activitySpread * keyedRng(p.seed, StreamKind.activity, u).normal() - s2 / 2);
    }
    const sampler = new CandidateSampler(world, sim.policy.popularityExponent);
    const expectedPerDay = Math.ceil(nUsers * sim.requestsPerUserDay * 1.2) + 1024;
    const log = new ClickLog(nUsers, Math.ceil(expectedPerDay * sim.slateSize * 0.1));
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
    for (let dd = 0; dd < sim.days; dd++) {
        const dayStart = sim.startTs + dd * day;
        log.compact(dayStart - p.windowSeconds);
        // 1. This day's request schedule: sessions of requests per user.
        const reqUser = new IntColumn(expectedPerDay);
        const reqSec = new IntColumn(expectedPerDay);
        for (let u = 0; u < nUsers; u++) {
            const r = keyedRng(p.seed, StreamKind.schedule, dd * nUsers + u);
            const n = poisson(r, sim.requestsPerUserDay * activity[u]);
            let t = day;
            for (let k = 0; k < n; k++) {
                if (k === 0 || r.nextFloat() < sim.newSessionProb)
                    t = r.int(day - 3600);
                else
                    t += 1 + Math.floor(exponential(r, sim.meanRequestGapSeconds));
                if (t >= day)
                    continue; // a session running past midnight stops there
                reqUser.push(u);
                reqSec.push(t);
            }
        }
        // Sort by (second, schedule index): key = sec·2^32 + index < 2^49, exact in float64.
        const nReq = reqUser.n;
        const keys = new Float64Array(nReq);
        for (let q = 0; q < nReq; q++)
            keys[q] = reqSec.data[q] * 4294967296 + q;
        keys.sort();
        // 2. Serve the requests in time order.
        const r = keyedRng(p.seed, StreamKind.events, dd);
        for (let q = 0; q < nReq; q++) {
            const idx = keys[q] % 4294967296;
            const u = reqUser.data[idx];
            const ts = dayStart + reqSec.data[idx];
            log.stateAt(world, u, ts, state);
            // Candidate pool (deduplicated with a per-request stamp).
            let nc = 0;
            for (let a = 0; a < 2 * K && nc < K; a++) {
                let i;
                if (a < nHome) {
                    // Home categories by mixture weight.
                    let x = r.nextFloat();
                    let h = 0;
                    while (h < 2 && world.userHome[u * 3 + h + 1] >= 0 && x >= world.userHomeWeight[u * 3 + h]) {
                        x -= world.userHomeWeight[u * 3 + h];
                        h++;
                    }
                    i = sampler.inCategory(r, world.userHome[u * 3 + h]);
                }
                else if (a < nHome + nRecent && state.n > 0) {
                    const j = r.int(state.n);
                    i =
                        r.nextFloat() < 0.5
                            ? sampler.inCategory(r, state.categories[j])
                            : sampler.inShop(r, state.shops[j]);
                }
                else {
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
                const aff = latentDot(world.userVec, uo, world.itemVec, cand[c] * d, d);
                candAff[c] = aff;
                candScore[c] =
                    relevanceWeight * (aff + relevanceNoise * r.normal()) +
                        popularityWeight * world.itemLogPop[cand[c]];
            }
            const slate = Math.min(S, nc);
            f.setPrefix(ts, requestId, u);
            let nClicked = 0;
            for (let pos = 0; pos < slate; pos++) {
                // Selection sort step: move the best remaining candidate to `pos`.
                let best = pos;
                for (let c = pos + 1; c < nc; c++)
                    if (candScore[c] > candScore[best])
                        best = c;
                if (best !== pos) {
                    swap(cand, pos, best);
                    swap(candAff, pos, best);
                    swap(candScore, pos, best);
                }
                const i = cand[pos];
                const cat = world.itemCategory[i];
                const cc = state.n > 0 ? state.categoryCount(cat) : 0;
                const sc = state.n > 0 ? state.shopCount(world.itemShop[i]) : 0;
                const pClick = sigmoid(world.clickLogit(u, i, candAff[pos], cc, sc));
                let click = 0;
                let dwell = 0;
                let long = 0;
                if (r.nextFloat() < exam[pos] * pClick) {
                    click = 1;
                    const pLong = sigmoid(world.longDwellLogit(i, candAff[pos], cc));
                    if (r.nextFloat() < pLong) {
                        long = 1;
                        dwell = LONG_DWELL_SECONDS + 1 + Math.floor(exponential(r, sim.meanLongDwellExcessSeconds));
                    }
                    else {
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
            for (let c = 0; c < nClicked; c++)
                log.add(u, ts, clicked[c]);
            requestId++;
            counts.requests++;
        }
        onProgress?.(dd + 1, sim.days, { ...counts });
    }
    f.close();
    return { ...counts, eventBytes: f.bytes };
}
function swap(a, i, j) {
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
}
/** Converts the temporary CSVs to parquet with DuckDB (streaming COPY), then removes them. */
async function csvToParquet(dir, tables) {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    try {
        for (const [csv, name, columns] of tables) {
            const cols = Object.entries(columns)
                .map(([k, t]) => `'${k}': '${t}'`)
                .join(', ');
            const target = join(dir, name);
            const tmp = `${target}.partial`;
            await conn.run(`COPY (SELECT * FROM read_csv('${sqlPath(csv)}', header = true, columns = {${cols}})) ` +
                `TO '${sqlPath(tmp)}' (FORMAT parquet, COMPRESSION zstd)`);
            renameSync(tmp, target);
            rmSync(csv);
        }
    }
    finally {
        conn.closeSync();
        db.closeSync();
    }
}
function sqlPath(p) {
    return p.replaceAll("'", "''");
}
//# sourceMappingURL=simulator.js.map