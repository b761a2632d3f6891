import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadWorld, readSimulationManifest, simulate } from '../../src/data/simulator.js';
import {
  defaultWorldParams,
  keyedRng,
  ShortTermState,
  stateAt,
  UserClickHistory,
  World,
} from '../../src/data/world.js';
import { openDuck } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'kdrec-sim-'));
after(() => rmSync(root, { recursive: true, force: true }));

interface Events {
  ts: Float64Array;
  request: Int32Array;
  user: Int32Array;
  item: Int32Array;
  position: Int32Array;
  click: Int32Array;
  dwell: Int32Array;
  long: Int32Array;
  n: number;
}

function readEvents(path: string): Events {
  const lines = readFileSync(path, 'utf8').split('\n');
  assert.equal(lines[0], 'ts,request_id,user_id,item_id,position,click,dwell_s,long_dwell');
  const n = lines.length - 2; // header and trailing empty line
  assert.equal(lines[lines.length - 1], '');
  const e: Events = {
    ts: new Float64Array(n),
    request: new Int32Array(n),
    user: new Int32Array(n),
    item: new Int32Array(n),
    position: new Int32Array(n),
    click: new Int32Array(n),
    dwell: new Int32Array(n),
    long: new Int32Array(n),
    n,
  };
  for (let r = 0; r < n; r++) {
    const f = lines[r + 1]!.split(',');
    assert.equal(f.length, 8, `line ${r + 2}`);
    e.ts[r] = Number(f[0]);
    e.request[r] = Number(f[1]);
    e.user[r] = Number(f[2]);
    e.item[r] = Number(f[3]);
    e.position[r] = Number(f[4]);
    e.click[r] = Number(f[5]);
    e.dwell[r] = Number(f[6]);
    e.long[r] = Number(f[7]);
  }
  return e;
}

/**
 * Replays the log in time order with the World's ground truth: for each exposure, the true
 * examination·pClick under the state just before its request, the same with an empty state, the
 * true pLongDwell, and whether the state held a click in the item's category or shop.
 */
function replay(world: World, e: Events) {
  const hist = new Map<number, UserClickHistory>();
  const st = new ShortTermState();
  const pc = new Float64Array(e.n);
  const pcNoState = new Float64Array(e.n);
  const pl = new Float64Array(e.n);
  const recent = new Uint8Array(e.n);
  let r = 0;
  while (r < e.n) {
    // One request at a time: all rows share ts, so its own clicks are added after scoring.
    let end = r;
    while (end < e.n && e.request[end] === e.request[r]) end++;
    const u = e.user[r]!;
    let h = hist.get(u);
    if (!h) {
      h = new UserClickHistory(world);
      hist.set(u, h);
    }
    h.stateAt(e.ts[r]!, st);
    for (let j = r; j < end; j++) {
      const i = e.item[j]!;
      const exam = world.examination(e.position[j]!);
      pc[j] = exam * world.pClick(u, i, st);
      pcNoState[j] = exam * world.pClick(u, i);
      pl[j] = world.pLongDwell(u, i, st);
      recent[j] = st.categoryCount(world.itemCategory[i]!) + st.shopCount(world.itemShop[i]!) > 0 ? 1 : 0;
    }
    for (let j = r; j < end; j++) if (e.click[j]) h.addClick(e.ts[j]!, e.item[j]!);
    r = end;
  }
  return { pc, pcNoState, pl, recent };
}

describe('simulator', () => {
  const dirA = join(root, 'a');
  let world: World;
  let ev: Events;
  let truth: ReturnType<typeof replay>;

  before(async () => {
    await simulate({ out: dirA, users: 800, items: 1500, days: 4, seed: 7, requestsPerUserDay: 6 });
    world = loadWorld(dirA);
    ev = readEvents(join(dirA, 'events.csv'));
    truth = replay(world, ev);
  });

  test('same options give byte-identical files; another seed gives different events', async () => {
    const dirB = join(root, 'b');
    const dirC = join(root, 'c');
    await simulate({ out: dirB, users: 800, items: 1500, days: 4, seed: 7, requestsPerUserDay: 6 });
    await simulate({ out: dirC, users: 800, items: 1500, days: 4, seed: 8, requestsPerUserDay: 6 });
    for (const f of ['users.csv', 'items.csv', 'events.csv', 'world.json']) {
      assert.ok(
        readFileSync(join(dirA, f)).equals(readFileSync(join(dirB, f))),
        `${f} differs between identical runs`,
      );
    }
    assert.ok(!readFileSync(join(dirA, 'events.csv')).equals(readFileSync(join(dirC, 'events.csv'))));
  });

  test('event table is well formed: row count, ascending ts and request ids, slates, label rules', () => {
    const m = readSimulationManifest(dirA);
    assert.equal(ev.n, m.counts.events);
    assert.ok(ev.n > 50_000, `only ${ev.n} events`);
    let clicks = 0;
    for (let r = 0; r < ev.n; r++) {
      if (r > 0) {
        assert.ok(ev.ts[r]! >= ev.ts[r - 1]!, `ts not ascending at row ${r}`);
        assert.ok(ev.request[r]! >= ev.request[r - 1]!, `request_id not ascending at row ${r}`);
        if (ev.request[r] === ev.request[r - 1]) {
          assert.equal(ev.position[r], ev.position[r - 1]! + 1);
          assert.equal(ev.user[r], ev.user[r - 1]);
        } else assert.equal(ev.position[r], 0);
      }
      assert.ok(ev.position[r]! < m.simulation.slateSize);
      if (ev.click[r]) {
        clicks++;
        assert.ok(ev.dwell[r]! >= 1);
      } else assert.equal(ev.dwell[r], 0);
      assert.equal(ev.long[r], ev.click[r] && ev.dwell[r]! > 50 ? 1 : 0);
    }
    assert.equal(clicks, m.counts.clicks);
    assert.equal(ev.request[ev.n - 1]! + 1, m.counts.requests);
    assert.ok(ev.ts[ev.n - 1]! - ev.ts[0]! > 3 * 86_400 - 7200, 'events should span the 4 days');
  });

  test('label rates are in a sane range', () => {
    let clicks = 0;
    let longs = 0;
    for (let r = 0; r < ev.n; r++) {
      clicks += ev.click[r]!;
      longs += ev.long[r]!;
    }
    const ctr = clicks / ev.n;
    const longGivenClick = longs / clicks;
    assert.ok(ctr > 0.03 && ctr < 0.25, `CTR ${ctr}`);
    assert.ok(longGivenClick > 0.25 && longGivenClick < 0.8, `p(long | click) ${longGivenClick}`);
  });

  test('logged labels match the ground truth replayed from world.json (calibration)', () => {
    let clicks = 0;
    let expClicks = 0;
    let longs = 0;
    let expLongs = 0;
    for (let r = 0; r < ev.n; r++) {
      const p = truth.pc[r]!;
      assert.ok(p > 0 && p < 1, `pClick ${p} at row ${r}`);
      assert.ok(truth.pl[r]! > 0 && truth.pl[r]! < 1);
      clicks += ev.click[r]!;
      expClicks += p;
      if (ev.click[r]) {
        longs += ev.long[r]!;
        expLongs += truth.pl[r]!;
      }
    }
    // Binomial standard errors are ~1% relative here; 4% tolerance is > 3 SE.
    assert.ok(
      Math.abs(clicks / expClicks - 1) < 0.04,
      `clicks ${clicks} vs expected ${expClicks.toFixed(1)}`,
    );
    assert.ok(
      Math.abs(longs / expLongs - 1) < 0.04,
      `long dwells ${longs} vs expected ${expLongs.toFixed(1)}`,
    );
  });

  test('recent clicks in the category/shop raise CTR beyond what affinity explains', () => {
    let n = 0;
    let clicks = 0;
    let withState = 0;
    let noState = 0;
    for (let r = 0; r < ev.n; r++) {
      if (!truth.recent[r]) continue;
      n++;
      clicks += ev.click[r]!;
      withState += truth.pc[r]!;
      noState += truth.pcNoState[r]!;
    }
    assert.ok(n > 2000, `only ${n} exposures with a recent same-category/shop click`);
    // Observed clicks agree with the state-aware truth and clearly exceed the state-free one.
    assert.ok(
      Math.abs(clicks / withState - 1) < 0.06,
      `clicks ${clicks} vs state-aware ${withState.toFixed(1)}`,
    );
    assert.ok(clicks > 1.3 * noState, `clicks ${clicks} vs state-free ${noState.toFixed(1)}`);
  });

  test('clickbait items get a higher CTR and a lower long-dwell rate given a click', () => {
    const bait = { n: 0, clicks: 0, longs: 0 };
    const plain = { n: 0, clicks: 0, longs: 0 };
    for (let r = 0; r < ev.n; r++) {
      const b = world.itemClickbait[ev.item[r]!]!;
      const g = b > 0.5 ? bait : b < 0.2 ? plain : null;
      if (!g) continue;
      g.n++;
      g.clicks += ev.click[r]!;
      g.longs += ev.long[r]!;
    }
    const ctr = (g: typeof bait): number => g.clicks / g.n;
    const longRate = (g: typeof bait): number => g.longs / g.clicks;
    assert.ok(ctr(bait) > 1.2 * ctr(plain), `CTR bait ${ctr(bait)} vs plain ${ctr(plain)}`);
    assert.ok(
      longRate(bait) < 0.7 * longRate(plain),
      `long|click bait ${longRate(bait)} vs plain ${longRate(plain)}`,
    );
  });

  test('the logging policy is not uniform: exposure concentrates on popular items', () => {
    const exposures = new Float64Array(world.nItems);
    for (let r = 0; r < ev.n; r++) exposures[ev.item[r]!]!++;
    const sorted = Array.from(exposures).sort((a, b) => b - a);
    const top10pct = sorted.slice(0, Math.floor(world.nItems / 10)).reduce((a, b) => a + b, 0);
    // A uniform policy would give the top 10% of items ~10% of exposures (plus sampling noise).
    assert.ok(top10pct / ev.n > 0.25, `top 10% of items get ${(top10pct / ev.n).toFixed(3)} of exposures`);
  });

  test('users.csv and items.csv match the world rebuilt from world.json', () => {
    const users = readFileSync(join(dirA, 'users.csv'), 'utf8').trim().split('\n');
    assert.equal(users[0], 'user_id,age_bucket,gender,region');
    assert.equal(users.length - 1, world.nUsers);
    for (let u = 0; u < world.nUsers; u++) {
      assert.equal(users[u + 1], `${u},${world.userAge[u]},${world.userGender[u]},${world.userRegion[u]}`);
    }
    const items = readFileSync(join(dirA, 'items.csv'), 'utf8').trim().split('\n');
    assert.equal(items[0], 'item_id,category,shop,clickbait');
    assert.equal(items.length - 1, world.nItems);
    for (let i = 0; i < world.nItems; i++) {
      const [id, cat, shop, cb] = items[i + 1]!.split(',').map(Number);
      assert.equal(id, i);
      assert.equal(cat, world.itemCategory[i]);
      assert.equal(shop, world.itemShop[i]);
      assert.equal(Math.floor(shop! / world.params.shopsPerCategory), cat, 'shops nest in categories');
      assert.ok(Math.abs(cb! - world.itemClickbait[i]!) <= 5e-5);
    }
  });

  test('parquet output has the same row counts and replaces an earlier CSV run', async () => {
    const dir = join(root, 'pq');
    await simulate({ out: dir, users: 50, items: 80, days: 1, seed: 3 });
    const res = await simulate({ out: dir, users: 200, items: 300, days: 2, seed: 3, format: 'parquet' });
    assert.deepEqual(readdirSync(dir).sort(), ['events', 'items.parquet', 'users.parquet', 'world.json']);
    assert.deepEqual(readdirSync(join(dir, 'events')), ['part-00000.parquet']);
    const db = await openDuck();
    assert.equal(await db.count(join(dir, 'events', 'part-00000.parquet')), res.events);
    assert.equal(await db.count(join(dir, 'users.parquet')), 200);
    assert.equal(await db.count(join(dir, 'items.parquet')), 300);
    db.close();
    assert.deepEqual(readSimulationManifest(dir).files, {
      users: 'users.parquet',
      items: 'items.parquet',
      events: 'events',
      eventParts: ['events/part-00000.parquet'],
    });
  });
});

describe('World', () => {
  const world = new World(defaultWorldParams({ seed: 11, users: 300, items: 2000 }));

  test('is reconstructed exactly from its parameters', () => {
    const again = new World(JSON.parse(JSON.stringify(world.params)));
    assert.deepEqual(again.userVec, world.userVec);
    assert.deepEqual(again.itemVec, world.itemVec);
    assert.deepEqual(again.itemClickbait, world.itemClickbait);
    assert.deepEqual(again.userRegion, world.userRegion);
  });

  test('rejects a world.json of another format version or with a bad field', () => {
    assert.throws(() => new World({ ...world.params, formatVersion: 99 }), /formatVersion/);
    assert.throws(() => new World({ ...world.params, users: 0 }), /'users'/);
    assert.throws(
      () => new World({ ...world.params, click: { ...world.params.click, bias: Number.NaN } }),
      /click\.bias/,
    );
    assert.throws(() => world.pClick(300, 0), /user id 300/);
    assert.throws(() => world.pClick(0, -1), /item id -1/);
  });

  test('batch scoring equals per-item scoring, with and without state', () => {
    const st = new ShortTermState();
    for (const i of [5, 17, 17, 400]) st.push(world.itemCategory[i]!, world.itemShop[i]!);
    for (const state of [new ShortTermState(), st]) {
      const all = new Float32Array(world.nItems);
      const allLong = new Float32Array(world.nItems);
      world.scoreAllItems(3, state, all, allLong);
      const items = Int32Array.from({ length: 50 }, (_, j) => j * 37);
      const some = new Float32Array(50);
      const someLong = new Float32Array(50);
      world.scoreItems(3, items, state, some, someLong);
      for (let j = 0; j < 50; j++) {
        const i = items[j]!;
        assert.ok(Math.abs(all[i]! - world.pClick(3, i, state)) < 1e-6);
        assert.ok(Math.abs(some[j]! - world.pClick(3, i, state)) < 1e-6);
        assert.ok(Math.abs(allLong[i]! - world.pLongDwell(3, i, state)) < 1e-6);
        assert.ok(Math.abs(someLong[j]! - allLong[i]!) < 1e-6);
      }
      const u = world.listUtility(3, items, state);
      let clicks = 0;
      for (let j = 0; j < 50; j++) clicks += some[j]!;
      assert.ok(Math.abs(u.clicks - clicks) < 1e-4);
      assert.ok(u.longDwells < u.clicks && u.longDwells > 0);
    }
  });

  test('state counts only clicks strictly inside (t - window, t)', () => {
    const W = world.params.windowSeconds;
    const t = 1_000_000;
    const i = 42;
    const events = {
      ts: [t - W, t - W + 1, t - 10, t, t + 5],
      item: [i, i, i, i, i],
      click: [1, 1, 0, 1, 1],
    };
    const st = stateAt(world, events, t);
    assert.equal(st.n, 1, 'only the click at t - W + 1 is in the window');
    assert.equal(st.categoryCount(world.itemCategory[i]!), 1);
    const h = new UserClickHistory(world);
    h.addClick(t - W, i);
    h.addClick(t - W + 1, i);
    assert.equal(h.stateAt(t).n, 1);
    h.addClick(t, i);
    assert.equal(h.stateAt(t).n, 1, 'a click at t itself is not before t');
    // At t + 1 the click at t enters and the one at t - W + 1 leaves the window.
    const later = h.stateAt(t + 1);
    assert.equal(later.n, 1);
    assert.equal(stateAt(world, { ts: [t - W + 1, t], item: [i, i] }, t + 1).n, 1);
    assert.ok(world.pClick(0, i, h.stateAt(t + 2)) > world.pClick(0, i));
  });

  test('demographics carry information about the latent vector', () => {
    const big = new World(defaultWorldParams({ seed: 5, users: 4000, items: 100 }));
    const d = big.dim;
    // Nearest-class-mean classification of gender from the user vector beats chance clearly.
    const mean = [new Float64Array(d), new Float64Array(d)];
    const cnt = [0, 0];
    for (let u = 0; u < big.nUsers; u++) {
      const g = big.userGender[u]!;
      cnt[g]!++;
      for (let j = 0; j < d; j++) mean[g]![j]! += big.userVec[u * d + j]!;
    }
    for (const g of [0, 1]) for (let j = 0; j < d; j++) mean[g]![j]! /= cnt[g]!;
    let correct = 0;
    for (let u = 0; u < big.nUsers; u++) {
      let d0 = 0;
      let d1 = 0;
      for (let j = 0; j < d; j++) {
        const x = big.userVec[u * d + j]!;
        d0 += (x - mean[0]![j]!) ** 2;
        d1 += (x - mean[1]![j]!) ** 2;
      }
      if ((d1 < d0 ? 1 : 0) === big.userGender[u]) correct++;
    }
    assert.ok(correct / big.nUsers > 0.65, `gender accuracy ${correct / big.nUsers}`);
  });

  test('keyed random streams differ across indices and repeat for the same key', () => {
    const a = keyedRng(1, 3, 0).nextU32();
    assert.equal(keyedRng(1, 3, 0).nextU32(), a);
    const seen = new Set<number>();
    for (let i = 0; i < 10_000; i++) seen.add(keyedRng(1, 3, i).nextU32());
    assert.ok(seen.size > 9_990);
    assert.notEqual(keyedRng(2, 3, 0).nextU32(), a);
    assert.notEqual(keyedRng(1, 4, 0).nextU32(), a);
  });
});
