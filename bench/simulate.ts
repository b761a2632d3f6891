/**
 * Throughput of the simulator (`kdrec simulate`) and of the World's batch ground-truth scoring.
 *
 *   node dist/bench/simulate.js [--users N] [--items M] [--days D | --events E] [--rpud R] [--runs K]
 *                               [--out DIR] [--format csv|parquet] [--part-events P] [--score-users U]
 *
 * Prints the median over K runs of events/s and MB/s of the event CSV (the event phase only, and
 * end to end including world generation), the peak RSS of the process (which shows that events
 * are streamed, not held), and the time to score every item for U users with
 * `World.scoreAllItems` (what evaluation does for whole-corpus top-K).
 * The output directory is removed at the end unless --keep is given.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { simulate } from '../src/data/simulator.js';
import { ShortTermState, type World } from '../src/data/world.js';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '5000' },
    items: { type: 'string', default: '10000' },
    days: { type: 'string' },
    events: { type: 'string' },
    'part-events': { type: 'string' },
    rpud: { type: 'string', default: '3' },
    runs: { type: 'string', default: '3' },
    out: { type: 'string' },
    format: { type: 'string', default: 'csv' },
    'score-users': { type: 'string', default: '1000' },
    keep: { type: 'boolean', default: false },
  },
});

function int(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new Error(`bench/simulate: --${name} '${v}' is not an integer >= 0`);
  return n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const users = int('users', values.users);
const items = int('items', values.items);
// --events sizes the run by event count instead of days (simulate() refuses both together).
const size =
  values.events !== undefined
    ? { events: int('events', values.events) }
    : { days: int('days', values.days ?? '3') };
const partEvents =
  values['part-events'] !== undefined ? int('part-events', values['part-events']) : undefined;
const rpud = Number(values.rpud);
const runs = Math.max(1, int('runs', values.runs));
const scoreUsers = int('score-users', values['score-users']);
const format = values.format === 'parquet' ? 'parquet' : 'csv';
const out = values.out ?? mkdtempSync(join(tmpdir(), 'kdrec-bench-sim-'));

const eventRates: number[] = [];
const mbRates: number[] = [];
const totalRates: number[] = [];
const worldSeconds: number[] = [];
const cpuRates: number[] = [];
let events = 0;
let bytes = 0;
let world: World | null = null;
for (let k = 0; k < runs; k++) {
  const cpu0 = process.cpuUsage();
  const res = await simulate({
    out,
    users,
    items,
    ...size,
    seed: 42,
    requestsPerUserDay: rpud,
    format,
    ...(partEvents !== undefined ? { partEvents } : {}),
  });
  const cpu = process.cpuUsage(cpu0);
  // Events per CPU-second (user + system) of this process: less sensitive than wall time to the
  // other processes sharing the machine.
  cpuRates.push(res.events / ((cpu.user + cpu.system) / 1e6));
  events = res.events;
  bytes = res.eventBytes;
  eventRates.push(res.events / res.seconds.events);
  mbRates.push(res.eventBytes / 1e6 / res.seconds.events);
  totalRates.push(res.events / res.seconds.total);
  worldSeconds.push(res.seconds.world);
  process.stderr.write(
    `run ${k + 1}/${runs}: ${res.events} events, ${res.seconds.total.toFixed(2)} s total, ` +
      `${Math.round(res.events / res.seconds.events)} events/s in the event phase\n`,
  );
  if (k === runs - 1) {
    const { loadWorld } = await import('../src/data/simulator.js');
    world = loadWorld(out);
  }
}

let scoreLine = '';
if (world && scoreUsers > 0) {
  const pc = new Float32Array(world.nItems);
  const pl = new Float32Array(world.nItems);
  const state = new ShortTermState();
  // A typical non-empty state: a handful of recent clicks.
  for (const i of [0, 1, 2, 3, 4].map((j) => (j * 7919) % world.nItems)) {
    state.push(world.itemCategory[i]!, world.itemShop[i]!);
  }
  const nU = Math.min(scoreUsers, world.nUsers);
  const times: number[] = [];
  const cpuTimes: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let u = 0; u < nU; u++) world.scoreAllItems(u, state, pc, pl);
    const c = process.cpuUsage(c0);
    times.push((performance.now() - t0) / 1000);
    cpuTimes.push((c.user + c.system) / 1e6);
  }
  scoreLine =
    `| World.scoreAllItems (pClick + pLongDwell) | ${nU} users × ${world.nItems} items | ` +
    `${median(times).toFixed(3)} s | ${median(cpuTimes).toFixed(3)} s | ` +
    `${((nU * world.nItems) / median(times) / 1e6).toFixed(1)} M pairs/s |`;
}

const rss = process.resourceUsage().maxRSS / 1024;
process.stdout.write(
  `\nsimulate --users ${users} --items ${items} ${'events' in size ? `--events ${size.events}` : `--days ${size.days}`} ` +
    `--requests-per-user-day ${rpud} --format ${format}${partEvents !== undefined ? ` --part-events ${partEvents}` : ''}` +
    ` (median of ${runs} run(s))\n\n` +
    '| events | event CSV | world build | events/s (event phase) | MB/s (event phase) | events/s (end to end) | events per CPU-s (end to end) | peak RSS |\n' +
    '|---|---|---|---|---|---|---|---|\n' +
    `| ${events} | ${(bytes / 1e6).toFixed(1)} MB | ${median(worldSeconds).toFixed(2)} s | ` +
    `${Math.round(median(eventRates))} | ${median(mbRates).toFixed(1)} | ${Math.round(median(totalRates))} | ` +
    `${Math.round(median(cpuRates))} | ` +
    `${rss.toFixed(0)} MB |\n` +
    (scoreLine
      ? `\n| scoring | size | median wall time | median CPU time | rate (wall) |\n|---|---|---|---|---|\n${scoreLine}\n`
      : ''),
);
if (!values.keep) rmSync(out, { recursive: true, force: true });
