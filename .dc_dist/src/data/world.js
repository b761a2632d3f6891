/**
 * The simulator's ground truth: a seeded synthetic world of users and items whose true click and
 * long-dwell probabilities are known exactly, so evaluation can measure the true utility of any
 * ranked list (expected clicks = Σ pClick, expected long dwells = Σ pClick·pLongDwell).
 *
 * The world follows the structure issue 3 item 6 asks for, in the spirit of latent-factor
 * simulators such as RecSim (Ie et al., 2019, "RecSim: A Configurable Simulation Platform for
 * Recommender Systems") and the reading-duration setting of the distillation paper this project
 * follows (CTR and long engagement disagree because of clickbait):
 *
 *   category centroid c_k ~ N(0, I/d)·‖1‖, shop s ∈ k:  z_s = c_k + σ_shop·N(0, I/d),
 *   item i ∈ s:  v_i = z_s + σ_item·N(0, I/d),  quality q_i ~ N(0,1),  clickbait b_i = U^3 ∈ [0,1],
 *   user u: 1–3 home categories with mixture weights w:  x_u = Σ w_k c_k + σ_user·N(0, I/d),
 *           click bias β_u ~ N(0, σ_bias²); demographics are noisy functions of x_u.
 *
 *   logit pClick(u,i | S) = a0 + β_u + a1·x_u·v_i + a2·q_i + a3·b_i
 *                           + a4·ln(1 + n_cat(S, cat_i)) + a5·ln(1 + n_shop(S, shop_i))
 *   logit pLongDwell(u,i | S) = d0 + d1·x_u·v_i + d2·q_i + d3·b_i + d4·ln(1 + n_cat(S, cat_i))
 *
 * where S is the user's short-term state: the categories and shops of the user's clicks in the
 * trailing window (default 24 h) strictly before the request time. pClick is the probability of a
 * click when the item is examined; the logged click at slate position p (0 = top) additionally
 * passes an examination gate examination(p) = (1 + p)^(−η) (position-based click model, Craswell
 * et al., 2008), so evaluation of a list uses pClick itself, free of position bias.
 *
 * Everything is regenerated from `WorldParams` (world.json) alone: each entity draws from its own
 * counter-keyed random stream (seed, kind, index), so no latent needs to be stored and any entity
 * can be reconstructed independently of how the generation was chunked.
 */
import { Rng } from '../engine/rng.js';
/** Bumped whenever the generative process changes, so an old world.json is not silently misread. */
export const WORLD_FORMAT_VERSION = 1;
/** Default parameters for a world of the given size (category and shop counts scale with items). */
export function defaultWorldParams(sizes) {
    const { seed, users, items } = sizes;
    const categories = sizes.categories ?? Math.max(4, Math.round(Math.sqrt(items) / 5));
    const shopsPerCategory = sizes.shopsPerCategory ?? Math.max(2, Math.round(items / categories / 50));
    return {
        formatVersion: WORLD_FORMAT_VERSION,
        seed,
        users,
        items,
        dim: sizes.dim ?? 16,
        categories,
        shopsPerCategory,
        regions: 8,
        ageBuckets: 7,
        shopSpread: 0.5,
        itemSpread: 0.5,
        userSpread: 0.6,
        userBiasStd: 0.4,
        categorySkew: 0.6,
        popQuality: 0.6,
        click: {
            bias: -3.9,
            affinity: 1.6,
            quality: 0.35,
            clickbait: 1.6,
            recentCategory: 0.45,
            recentShop: 0.7,
        },
        longDwell: { bias: -0.4, affinity: 0.8, quality: 0.5, clickbait: -3.2, recentCategory: 0.25 },
        examinationPower: 0.5,
        windowSeconds: 86_400,
    };
}
/** Checks a parameter object (e.g. parsed from world.json) and names the first bad field. */
export function validateWorldParams(p, source = 'world params') {
    if (typeof p !== 'object' || p === null)
        throw new Error(`${source}: expected an object`);
    const o = p;
    if (o['formatVersion'] !== WORLD_FORMAT_VERSION) {
        throw new Error(`${source}: field 'formatVersion' is ${JSON.stringify(o['formatVersion'])}, expected ${WORLD_FORMAT_VERSION}` +
            ' (the world was written by a different simulator version; regenerate it)');
    }
    const int = (k, min) => {
        const v = o[k];
        if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
            throw new Error(`${source}: field '${k}' is ${JSON.stringify(v)}, expected an integer >= ${min}`);
        }
    };
    const num = (obj, k, path) => {
        const v = obj[k];
        if (typeof v !== 'number' || !Number.isFinite(v)) {
            throw new Error(`${source}: field '${path}' is ${JSON.stringify(v)}, expected a finite number`);
        }
    };
    int('seed', 0);
    for (const k of ['users', 'items', 'dim', 'categories', 'shopsPerCategory', 'regions', 'ageBuckets'])
        int(k, 1);
    int('windowSeconds', 1);
    for (const k of [
        'shopSpread',
        'itemSpread',
        'userSpread',
        'userBiasStd',
        'categorySkew',
        'popQuality',
        'examinationPower',
    ]) {
        num(o, k, k);
    }
    for (const [group, keys] of [
        ['click', ['bias', 'affinity', 'quality', 'clickbait', 'recentCategory', 'recentShop']],
        ['longDwell', ['bias', 'affinity', 'quality', 'clickbait', 'recentCategory']],
    ]) {
        const g = o[group];
        if (typeof g !== 'object' || g === null)
            throw new Error(`${source}: field '${group}' missing, expected an object`);
        for (const k of keys)
            num(g, k, `${group}.${k}`);
    }
    if (Math.abs(o['popQuality']) > 1) {
        throw new Error(`${source}: field 'popQuality' is ${o['popQuality']}, expected a number in [-1, 1]`);
    }
    return p;
}
// ---------------------------------------------------------------------------------------------
// Counter-keyed random streams
/** Stream kinds: each entity kind draws from its own family of streams. */
export const StreamKind = {
    category: 1,
    shop: 2,
    item: 3,
    user: 4,
    axes: 5,
    /** Simulation only (not ground truth): per-user activity, per-(day, user) schedule, per-day events. */
    activity: 6,
    schedule: 7,
    events: 8,
};
/** murmur3 fmix32: a bijective avalanche on 32-bit ints, used to key streams by (seed, kind, index). */
function fmix32(h) {
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h >>> 0;
}
/**
 * The engine's seeded generator (sfc32), keyed by (seed, kind, index): the four state words come
 * from chained bijective hashes of the three keys, so for one seed and kind every index gets a
 * distinct 128-bit state (hashing the keys down to a single 32-bit seed would make ~500 of a
 * million users share a stream by the birthday bound). Any entity's draws can be regenerated on
 * their own, which makes World reconstructable from its parameters and the simulation
 * independent of chunking.
 */
export function keyedRng(seed, kind, index) {
    const a = fmix32((seed ^ 0x9e3779b9) + Math.imul(Math.floor(seed / 4294967296), 0x27d4eb2f));
    const b = fmix32(Math.imul(kind + 1, 0x85ebca6b) ^ a);
    const c = fmix32(Math.imul((index >>> 0) + 1, 0xc2b2ae35) ^ b);
    const d = fmix32(Math.floor(index / 4294967296) ^ kind ^ c);
    const r = new Rng(0);
    r.setState([a, b, c, d, 0, 0]);
    for (let i = 0; i < 12; i++)
        r.nextU32();
    return r;
}
/** Exponential deviate with the given mean. */
export function exponential(r, mean) {
    return -mean * Math.log(1 - r.nextFloat());
}
/** Poisson deviate; Knuth's product method up to λ = 30, a rounded normal approximation above. */
export function poisson(r, lambda) {
    if (lambda <= 0)
        return 0;
    if (lambda > 30)
        return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * r.normal()));
    const l = Math.exp(-lambda);
    let k = 0;
    let p = r.nextFloat();
    while (p > l) {
        k++;
        p *= r.nextFloat();
    }
    return k;
}
// ---------------------------------------------------------------------------------------------
// Short-term state
/**
 * A user's short-term state at a time t: the category and shop of each of the user's clicks with
 * ts in (t − window, t) — strictly before t, so a request never sees its own clicks. This is
 * exactly what the privileged user×category / user×shop window counts measure.
 */
export class ShortTermState {
    categories;
    shops;
    n = 0;
    constructor(capacity = 32) {
        this.categories = new Int32Array(capacity);
        this.shops = new Int32Array(capacity);
    }
    clear() {
        this.n = 0;
    }
    push(category, shop) {
        if (this.n === this.categories.length) {
            const c = new Int32Array(this.n * 2);
            c.set(this.categories);
            this.categories = c;
            const s = new Int32Array(this.n * 2);
            s.set(this.shops);
            this.shops = s;
        }
        this.categories[this.n] = category;
        this.shops[this.n] = shop;
        this.n++;
    }
    categoryCount(category) {
        let k = 0;
        for (let j = 0; j < this.n; j++)
            if (this.categories[j] === category)
                k++;
        return k;
    }
    shopCount(shop) {
        let k = 0;
        for (let j = 0; j < this.n; j++)
            if (this.shops[j] === shop)
                k++;
        return k;
    }
}
const EMPTY_STATE = new ShortTermState(1);
/**
 * Incremental per-user click history for replaying logged events in time order (evaluation):
 * `addClick` each click as it happens, `stateAt(t)` for the state before a request at t.
 * Clicks must be added in non-decreasing ts order.
 */
export class UserClickHistory {
    world;
    ts = [];
    items = [];
    start = 0;
    constructor(world) {
        this.world = world;
    }
    addClick(ts, item) {
        const last = this.ts.length > 0 ? this.ts[this.ts.length - 1] : -Infinity;
        if (ts < last)
            throw new Error(`UserClickHistory.addClick: ts ${ts} is before the previous click at ${last}`);
        this.world.checkItem(item);
        this.ts.push(ts);
        this.items.push(item);
    }
    /** State at t (clicks in (t − window, t)); `out` is reused if given. Queries must not go back in time. */
    stateAt(t, out = new ShortTermState()) {
        const lo = t - this.world.params.windowSeconds;
        while (this.start < this.ts.length && this.ts[this.start] <= lo)
            this.start++;
        out.clear();
        for (let j = this.start; j < this.ts.length && this.ts[j] < t; j++) {
            const it = this.items[j];
            out.push(this.world.itemCategory[it], this.world.itemShop[it]);
        }
        return out;
    }
}
/**
 * The state at t from one user's logged events (any order): clicks with ts in (t − window, t).
 * `clicks` may be omitted when every listed event is a click.
 */
export function stateAt(world, events, t, out = new ShortTermState()) {
    const lo = t - world.params.windowSeconds;
    out.clear();
    const n = events.ts.length;
    if (events.item.length !== n || (events.click && events.click.length !== n)) {
        throw new Error(`stateAt: events.ts, events.item and events.click must have the same length (${n})`);
    }
    for (let j = 0; j < n; j++) {
        const ts = events.ts[j];
        if (ts <= lo || ts >= t)
            continue;
        if (events.click && !events.click[j])
            continue;
        const it = events.item[j];
        world.checkItem(it);
        out.push(world.itemCategory[it], world.itemShop[it]);
    }
    return out;
}
// ---------------------------------------------------------------------------------------------
// World
function sigmoid(x) {
    return 1 / (1 + Math.exp(-x));
}
/** The ground-truth world. Construct with `new World(params)`; it regenerates all latents from the seed. */
export class World {
    params;
    dim;
    nUsers;
    nItems;
    nShops;
    /** Category centroids [categories × dim]. */
    categoryVec;
    /** Relative size (sampling weight) of each category. */
    categoryWeight;
    itemVec;
    itemCategory;
    itemShop;
    itemQuality;
    itemClickbait;
    /** log popularity: what a logging policy sees of an item (correlated with quality). */
    itemLogPop;
    userVec;
    userBias;
    /** Up to 3 home categories per user (−1 = unused) and their mixture weights. */
    userHome;
    userHomeWeight;
    userAge;
    userGender;
    userRegion;
    /** Per-user and per-item constant parts of the logits (see clickLogit / longDwellLogit). */
    userClickTerm;
    itemClickTerm;
    itemLongTerm;
    /** Reused float64 logits of scoreAllItems (one corpus-sized buffer, not one per call). */
    logitScratch = new Float64Array(0);
    /** Items of each category / shop, CSR: items of c are catItems[catStart[c] .. catStart[c+1]). */
    catStart;
    catItems;
    shopStart;
    shopItems;
    constructor(params) {
        this.params = validateWorldParams(params);
        const p = this.params;
        const d = p.dim;
        this.dim = d;
        this.nUsers = p.users;
        this.nItems = p.items;
        this.nShops = p.categories * p.shopsPerCategory;
        const invSqrtD = 1 / Math.sqrt(d);
        this.categoryVec = new Float32Array(p.categories * d);
        this.categoryWeight = new Float64Array(p.categories);
        for (let k = 0; k < p.categories; k++) {
            const r = keyedRng(p.seed, StreamKind.category, k);
            for (let j = 0; j < d; j++)
                this.categoryVec[k * d + j] = r.normal() * invSqrtD;
            this.categoryWeight[k] = (k + 1) ** -p.categorySkew;
        }
        const catCum = cumulative(this.categoryWeight);
        const shopVec = new Float32Array(this.nShops * d);
        for (let s = 0; s < this.nShops; s++) {
            const k = Math.floor(s / p.shopsPerCategory);
            const r = keyedRng(p.seed, StreamKind.shop, s);
            for (let j = 0; j < d; j++)
                shopVec[s * d + j] = this.categoryVec[k * d + j] + p.shopSpread * r.normal() * invSqrtD;
        }
        this.itemVec = new Float32Array(p.items * d);
        this.itemCategory = new Int32Array(p.items);
        this.itemShop = new Int32Array(p.items);
        this.itemQuality = new Float32Array(p.items);
        this.itemClickbait = new Float32Array(p.items);
        this.itemLogPop = new Float32Array(p.items);
        const popNoise = Math.sqrt(1 - p.popQuality * p.popQuality);
        for (let i = 0; i < p.items; i++) {
            const r = keyedRng(p.seed, StreamKind.item, i);
            const k = searchCumulative(catCum, r.nextFloat() * catCum[catCum.length - 1]);
            const s = k * p.shopsPerCategory + r.int(p.shopsPerCategory);
            this.itemCategory[i] = k;
            this.itemShop[i] = s;
            for (let j = 0; j < d; j++)
                this.itemVec[i * d + j] = shopVec[s * d + j] + p.itemSpread * r.normal() * invSqrtD;
            const q = r.normal();
            this.itemQuality[i] = q;
            // U^3: most items are not clickbait, a tail strongly is.
            const u = r.nextFloat();
            this.itemClickbait[i] = u * u * u;
            this.itemLogPop[i] = p.popQuality * q + popNoise * r.normal();
        }
        this.itemClickTerm = new Float64Array(p.items);
        this.itemLongTerm = new Float64Array(p.items);
        for (let i = 0; i < p.items; i++) {
            const q = this.itemQuality[i];
            const b = this.itemClickbait[i];
            this.itemClickTerm[i] = p.click.quality * q + p.click.clickbait * b;
            this.itemLongTerm[i] = p.longDwell.bias + p.longDwell.quality * q + p.longDwell.clickbait * b;
        }
        [this.catStart, this.catItems] = groupBy(this.itemCategory, p.categories);
        [this.shopStart, this.shopItems] = groupBy(this.itemShop, this.nShops);
        // Fixed demographic axes: age and gender are noisy projections of the user vector, region a
        // noisy argmax over region directions, so demographics carry (partial) interest information.
        const axes = keyedRng(p.seed, StreamKind.axes, 0);
        const axis = () => {
            const a = new Float32Array(d);
            for (let j = 0; j < d; j++)
                a[j] = axes.normal() * invSqrtD;
            return a;
        };
        const ageAxis = axis();
        const genderAxis = axis();
        const regionAxes = Array.from({ length: p.regions }, axis);
        this.userVec = new Float32Array(p.users * d);
        this.userBias = new Float32Array(p.users);
        this.userHome = new Int32Array(p.users * 3).fill(-1);
        this.userHomeWeight = new Float32Array(p.users * 3);
        this.userAge = new Int32Array(p.users);
        this.userGender = new Int32Array(p.users);
        this.userRegion = new Int32Array(p.users);
        for (let u = 0; u < p.users; u++) {
            const r = keyedRng(p.seed, StreamKind.user, u);
            const nHome = 1 + r.int(Math.min(3, p.categories));
            let wsum = 0;
            for (let h = 0; h < nHome; h++) {
                const k = searchCumulative(catCum, r.nextFloat() * catCum[catCum.length - 1]);
                const w = 0.2 + r.nextFloat();
                this.userHome[u * 3 + h] = k;
                this.userHomeWeight[u * 3 + h] = w;
                wsum += w;
            }
            for (let h = 0; h < nHome; h++)
                this.userHomeWeight[u * 3 + h] /= wsum;
            const o = u * d;
            for (let j = 0; j < d; j++) {
                let x = p.userSpread * r.normal() * invSqrtD;
                for (let h = 0; h < nHome; h++) {
                    x += this.userHomeWeight[u * 3 + h] * this.categoryVec[this.userHome[u * 3 + h] * d + j];
                }
                this.userVec[o + j] = x;
            }
            this.userBias[u] = p.userBiasStd * r.normal();
            const proj = (a) => {
                let s = 0;
                for (let j = 0; j < d; j++)
                    s += a[j] * this.userVec[o + j];
                return s;
            };
            // Age: a noisy projection squashed to (0,1) and cut into equal buckets.
            const ageZ = 2.5 * proj(ageAxis) + 0.5 * r.normal();
            this.userAge[u] = Math.min(p.ageBuckets - 1, Math.floor(sigmoid(ageZ) * p.ageBuckets));
            this.userGender[u] = 2.5 * proj(genderAxis) + 0.5 * r.normal() > 0 ? 1 : 0;
            let best = 0;
            let bestV = -Infinity;
            for (let g = 0; g < p.regions; g++) {
                const v = proj(regionAxes[g]) + 0.15 * r.normal();
                if (v > bestV) {
                    bestV = v;
                    best = g;
                }
            }
            this.userRegion[u] = best;
        }
        this.userClickTerm = new Float64Array(p.users);
        for (let u = 0; u < p.users; u++)
            this.userClickTerm[u] = p.click.bias + this.userBias[u];
    }
    checkUser(u) {
        if (!Number.isInteger(u) || u < 0 || u >= this.nUsers) {
            throw new Error(`World: user id ${u} out of range, expected an integer in [0, ${this.nUsers})`);
        }
    }
    checkItem(i) {
        if (!Number.isInteger(i) || i < 0 || i >= this.nItems) {
            throw new Error(`World: item id ${i} out of range, expected an integer in [0, ${this.nItems})`);
        }
    }
    /** x_u · v_i, the latent affinity. */
    affinity(u, i) {
        return latentDot(this.userVec, u * this.dim, this.itemVec, i * this.dim, this.dim);
    }
    /**
     * Logit of pClick given the affinity and the state's counts; one formula for the scalar, batch
     * and simulator paths (scoreAllItems evaluates the same sum in the same order, so all paths agree
     * bit for bit).
     */
    clickLogit(u, i, aff, catCount, shopCount) {
        const c = this.params.click;
        return (this.userClickTerm[u] +
            c.affinity * aff +
            this.itemClickTerm[i] +
            c.recentCategory * Math.log1p(catCount) +
            c.recentShop * Math.log1p(shopCount));
    }
    /** Logit of p(dwell > 50 s | click). */
    longDwellLogit(i, aff, catCount) {
        const c = this.params.longDwell;
        return this.itemLongTerm[i] + c.affinity * aff + c.recentCategory * Math.log1p(catCount);
    }
    /** True p(click | examined) of item i for user u in short-term state `state` (default: empty). */
    pClick(u, i, state = EMPTY_STATE) {
        this.checkUser(u);
        this.checkItem(i);
        const aff = this.affinity(u, i);
        return sigmoid(this.clickLogit(u, i, aff, state.categoryCount(this.itemCategory[i]), state.shopCount(this.itemShop[i])));
    }
    /** True p(dwell > 50 s | click). */
    pLongDwell(u, i, state = EMPTY_STATE) {
        this.checkUser(u);
        this.checkItem(i);
        return sigmoid(this.longDwellLogit(i, this.affinity(u, i), state.categoryCount(this.itemCategory[i])));
    }
    /** Probability that position p (0 = top) is examined: (1 + p)^(−η). */
    examination(position) {
        return (1 + position) ** -this.params.examinationPower;
    }
    /**
     * Batch ground truth for one user over a list of items: outClick[j] = pClick(u, items[j]),
     * outLong[j] = pLongDwell(u, items[j]) (optional).
     */
    scoreItems(u, items, state, outClick, outLong) {
        this.checkUser(u);
        const n = items.length;
        if (outClick.length < n || (outLong && outLong.length < n)) {
            throw new Error(`World.scoreItems: output arrays need length >= ${n}`);
        }
        const catCounts = this.stateCategoryCounts(state);
        for (let j = 0; j < n; j++) {
            const i = items[j];
            this.checkItem(i);
            const aff = this.affinity(u, i);
            const cc = catCounts[this.itemCategory[i]];
            outClick[j] = sigmoid(this.clickLogit(u, i, aff, cc, state.n > 0 ? state.shopCount(this.itemShop[i]) : 0));
            if (outLong)
                outLong[j] = sigmoid(this.longDwellLogit(i, aff, cc));
        }
    }
    /**
     * Ground truth for one user over the whole corpus (outClick/outLong length = nItems). The shop
     * term is added through the shop→items index, so the cost is one dot product per item.
     */
    scoreAllItems(u, state, outClick, outLong) {
        this.checkUser(u);
        const n = this.nItems;
        if (outClick.length < n || (outLong && outLong.length < n)) {
            throw new Error(`World.scoreAllItems: output arrays need length >= ${n}`);
        }
        const catCounts = this.stateCategoryCounts(state);
        const cc = this.params.click;
        const lc = this.params.longDwell;
        const catClick = new Float64Array(catCounts.length);
        const catLong = new Float64Array(catCounts.length);
        for (let k = 0; k < catCounts.length; k++) {
            catClick[k] = cc.recentCategory * Math.log1p(catCounts[k]);
            catLong[k] = lc.recentCategory * Math.log1p(catCounts[k]);
        }
        const shopBoost = new Map();
        for (let j = 0; j < state.n; j++)
            shopBoost.set(state.shops[j], (shopBoost.get(state.shops[j]) ?? 0) + 1);
        const d = this.dim;
        const uv = this.userVec;
        const iv = this.itemVec;
        const uo = u * d;
        const userTerm = this.userClickTerm[u];
        const itemClick = this.itemClickTerm;
        const itemLong = this.itemLongTerm;
        const itemCat = this.itemCategory;
        if (this.logitScratch.length < n)
            this.logitScratch = new Float64Array(n);
        const z = this.logitScratch;
        // The same sums as clickLogit / longDwellLogit, inlined; the shop term (+ log1p(0) = 0 here)
        // is added afterwards through the shop index, then the sigmoid.
        for (let i = 0; i < n; i++) {
            const aff = latentDot(uv, uo, iv, i * d, d);
            const k = itemCat[i];
            z[i] = userTerm + cc.affinity * aff + itemClick[i] + catClick[k] + 0;
            if (outLong)
                outLong[i] = 1 / (1 + Math.exp(-(itemLong[i] + lc.affinity * aff + catLong[k])));
        }
        for (const [s, k] of shopBoost) {
            const add = cc.recentShop * Math.log1p(k);
            for (let j = this.shopStart[s]; j < this.shopStart[s + 1]; j++)
                z[this.shopItems[j]] += add;
        }
        for (let i = 0; i < n; i++)
            outClick[i] = 1 / (1 + Math.exp(-z[i]));
    }
    /**
     * True utility of a ranked list for user u in state `state`: expected clicks Σ pClick and
     * expected long dwells Σ pClick·pLongDwell (position-free, see the file header).
     */
    listUtility(u, items, state = EMPTY_STATE) {
        const pc = new Float32Array(items.length);
        const pl = new Float32Array(items.length);
        this.scoreItems(u, items, state, pc, pl);
        let clicks = 0;
        let longDwells = 0;
        for (let j = 0; j < items.length; j++) {
            clicks += pc[j];
            longDwells += pc[j] * pl[j];
        }
        return { clicks, longDwells };
    }
    stateCategoryCounts(state) {
        const counts = new Float64Array(this.params.categories);
        for (let j = 0; j < state.n; j++)
            counts[state.categories[j]]++;
        return counts;
    }
    /** The parameters as written to world.json. */
    toJSON() {
        return this.params;
    }
}
/**
 * a[ao..ao+d) · b[bo..bo+d), with four partial sums (≈1.5× faster than one in V8). Every path that
 * needs an affinity uses this one function, so the simulator, the scalar and the batch ground
 * truth agree bit for bit.
 */
export function latentDot(a, ao, b, bo, d) {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let j = 0;
    for (; j + 3 < d; j += 4) {
        s0 += a[ao + j] * b[bo + j];
        s1 += a[ao + j + 1] * b[bo + j + 1];
        s2 += a[ao + j + 2] * b[bo + j + 2];
        s3 += a[ao + j + 3] * b[bo + j + 3];
    }
    for (; j < d; j++)
        s0 += a[ao + j] * b[bo + j];
    return s0 + s1 + (s2 + s3);
}
/** Running sums of non-negative weights (for inverse-CDF sampling). */
export function cumulative(w) {
    const c = new Float64Array(w.length);
    let s = 0;
    for (let i = 0; i < w.length; i++) {
        s += w[i];
        c[i] = s;
    }
    return c;
}
/** Smallest index k in [lo, hi) with cum[k] > x (cum ascending); x in [cum[lo-1], cum[hi-1]). */
export function searchCumulative(cum, x, lo = 0, hi = cum.length) {
    let a = lo;
    let b = hi - 1;
    while (a < b) {
        const m = (a + b) >>> 1;
        if (cum[m] > x)
            b = m;
        else
            a = m + 1;
    }
    return a;
}
/** CSR grouping of ids 0..n-1 by key: members of key k are members[start[k] .. start[k+1]), ascending. */
function groupBy(keys, nKeys) {
    const start = new Int32Array(nKeys + 1);
    for (let i = 0; i < keys.length; i++)
        start[keys[i] + 1]++;
    for (let k = 0; k < nKeys; k++)
        start[k + 1] += start[k];
    const fill = start.slice(0, nKeys);
    const members = new Int32Array(keys.length);
    for (let i = 0; i < keys.length; i++)
        members[fill[keys[i]]++] = i;
    return [start, members];
}
//# sourceMappingURL=world.js.map