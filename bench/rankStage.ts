/**
 * Rank-stage cost per request (issue 7), in process (no HTTP): for M = 100 pre-ranked candidates,
 *   privileged  = OnlinePrivileged.columns (window counts from the user's history),
 *   rankGraph   = bundle.rankScores (the exported ranking-dnn graph),
 *   rank stage  = both (what the server's rank stage runs),
 * with, as a reference measured in the same run, the pre-ranker on 500 and on 100 candidates.
 * Users: 300 known users of the export; history: their real events from the simulator's events.csv,
 * the request at each user's 3/4 point (later events are present in the history and must not count).
 *
 *   npm run build && node dist/bench/rankStage.js --export DIR --events SIMDIR/events.csv
 * (DIR: `kdrec export --run RECALL_RUN --prerank-run PRERANK_RUN --rank-run TEACHER_RUN --out DIR`)
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { getKernels } from '../src/engine/kernels/index.js';
import { loadServingState } from '../src/serve/servingState.js';
import type { UserEvent } from '../src/serve/userStateStore.js';

const { values } = parseArgs({ options: { export: { type: 'string' }, events: { type: 'string' } } });
if (values.export === undefined || values.events === undefined)
  throw new Error('--export DIR (with a ranker) and --events SIMDIR/events.csv are required');
const s = loadServingState(values.export);
const b = s.bundle;
if (b.rank === null || b.rankPrivileged === null)
  throw new Error(`${values.export}: the export has no ranker (kdrec export --rank-run RUN)`);
console.log(`kernels: ${getKernels().name}`);
// Events by user (time-ordered in the file).
const lines = readFileSync(values.events, 'utf8').trim().split('\n').slice(1);
const byUser = new Map<string, UserEvent[]>();
for (const l of lines) {
  const [ts, , user, item, , click] = l.split(',');
  let a = byUser.get(user!);
  if (!a) byUser.set(user!, (a = []));
  a.push({ itemId: item!, ts: Number(ts), labels: { click: Number(click) } });
}
const users = b
  .knownUserIds()
  .filter((u) => (byUser.get(u)?.length ?? 0) > 20)
  .slice(0, 300);
type Case = {
  user: ReturnType<typeof b.encodeUser>;
  hist: UserEvent[];
  t: number;
  c500: Int32Array;
  c100: Int32Array;
};
const cases: Case[] = users.map((u) => {
  const ev = byUser.get(u)!;
  // Request at the user's 3/4 point: a realistic trailing history, later events present in the store.
  const t = ev[Math.floor(ev.length * 0.75)]!.ts;
  const user = b.encodeUser({ userId: u, features: { hour: String(Math.floor((t % 86400) / 3600)) } });
  const c500 = s.index.search(b.userVector(user), 500).keys;
  const p = b.prerankScores(user, c500);
  const order = Array.from(c500.keys()).sort((x, y) => p[y]! - p[x]!);
  const c100 = Int32Array.from(order.slice(0, 100), (i) => c500[i]!);
  return { user, hist: ev, t, c500, c100 };
});
const histLen = cases.map((c) => c.hist.length).sort((x, y) => x - y);
console.log(
  `${cases.length} users, history length median ${histLen[histLen.length >> 1]} (max ${histLen.at(-1)})`,
);

function time(label: string, f: (c: Case) => unknown, reps = 2): void {
  for (const c of cases.slice(0, 50)) f(c); // warm-up
  const wall: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) {
    for (const c of cases) {
      const a = performance.now();
      f(c);
      wall.push(performance.now() - a);
    }
  }
  const total = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  wall.sort((x, y) => x - y);
  const q = (p: number) => wall[Math.min(wall.length - 1, Math.floor(p * wall.length))]!;
  console.log(
    `${label.padEnd(34)} median ${q(0.5).toFixed(3)} ms  p90 ${q(0.9).toFixed(3)}  p99 ${q(0.99).toFixed(3)}  cpu/call ${((cpu.user + cpu.system) / 1000 / wall.length).toFixed(3)} ms (wall/call ${(total / wall.length).toFixed(3)})  n=${wall.length}`,
  );
}
const priv = (c: Case) => b.rankPrivileged!.columns(c.hist, c.t, c.c100);
time('ref: prerank 500', (c) => b.prerankScores(c.user, c.c500));
time('ref: prerank 100', (c) => b.prerankScores(c.user, c.c100));
time('privileged columns, M=100', priv);
const pcols = new Map(cases.map((c) => [c, priv(c)]));
let nz = 0;
let tot = 0;
for (const [c, cols] of pcols) {
  const zero = b.rankPrivileged!.columns([], c.t, c.c100);
  for (const f of Object.keys(cols))
    for (let j = 0; j < 100; j++, tot++) if (cols[f]![j] !== zero[f]![j]) nz++;
}
console.log(`privileged values with a non-zero count: ${nz} of ${tot}`);
time('rank graph, M=100', (c) => b.rankScores(c.user, c.c100, pcols.get(c)!));
time('rank stage (privileged + graph)', (c) => b.rankScores(c.user, c.c100, priv(c)));
