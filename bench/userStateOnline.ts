/**
 * Cost of the online user-state path (issue 9): one request's features from a stored history
 * (`OnlineUserState.features`, the same `computeUserState` that builds the training columns), and
 * `MemoryUserStateStore.append` of one event into a full history. Synthetic catalogue and events;
 * medians over rounds.
 *
 *   npx tsx bench/userStateOnline.ts [--history 500] [--lastN 20] [--rounds 7] [--calls 2000]
 */
import { parseArgs } from 'node:util';
import { Schema } from '../src/data/schema.js';
import { userStateFieldDecls } from '../src/data/userState.js';
import { Rng } from '../src/engine/rng.js';
import { MemoryUserStateStore, OnlineUserState, type UserEvent } from '../src/serve/userStateStore.js';

const { values } = parseArgs({
  options: {
    history: { type: 'string', default: '500' },
    lastN: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '7' },
    calls: { type: 'string', default: '2000' },
  },
});
const H = Number(values.history);
const lastN = Number(values.lastN);
const rounds = Number(values.rounds);
const calls = Number(values.calls);
const nItems = 10_000;

const base = {
  fields: [
    { name: 'item_id', kind: 'categorical' as const, group: 'item' as const },
    { name: 'category', kind: 'categorical' as const, group: 'item' as const },
    { name: 'click', kind: 'label' as const },
    { name: 'long_dwell', kind: 'label' as const },
  ],
};
const opts = { lastN, windows: ['1d', '7d'] };
const decls = userStateFieldDecls(
  base,
  { itemField: 'item_id', keyField: 'category', rateLabels: ['click', 'long_dwell'] },
  opts,
  'bench',
);
const numericStats: Record<string, { mean: number; std: number; min: number; max: number }> = {};
for (const d of decls) if (d.kind === 'numeric') numericStats[d.name] = { mean: 0, std: 1, min: 0, max: 1 };
const schema = new Schema(
  { fields: [...base.fields, ...decls] },
  { tableSizes: { item_id: nItems + 1, category: 51 }, numericStats },
);
const items = {
  size: nItems,
  cat: {
    item_id: Int32Array.from({ length: nItems }, (_, i) => i + 1),
    category: Int32Array.from({ length: nItems }, (_, i) => 1 + (i % 50)),
  },
  seq: {},
  num: {},
  labels: {},
  extra: {},
};
const itemRow = new Map(Array.from({ length: nItems }, (_, i) => [`i${i}`, i] as const));
const online = new OnlineUserState(schema, items, itemRow, 'bench');
const rng = new Rng(1);
const t0 = 1_700_000_000;
const history: UserEvent[] = Array.from({ length: H }, (_, i) => ({
  itemId: `i${rng.int(nItems)}`,
  ts: t0 + i * 600,
  labels: { click: rng.nextFloat() < 0.3 ? 1 : 0, long_dwell: rng.nextFloat() < 0.1 ? 1 : 0 },
}));
const tq = t0 + H * 600;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const featUs: number[] = [];
for (let r = 0; r < rounds; r++) {
  const s = performance.now();
  for (let c = 0; c < calls; c++) online.features(history, tq);
  featUs.push(((performance.now() - s) * 1000) / calls);
}
const store = new MemoryUserStateStore({ maxEventsPerUser: H });
await store.append('u', history);
const appendUs: number[] = [];
for (let r = 0; r < rounds; r++) {
  const s = performance.now();
  for (let c = 0; c < calls; c++) await store.append('u', [{ itemId: 'i1', ts: tq + r * calls + c }]);
  appendUs.push(((performance.now() - s) * 1000) / calls);
}
process.stdout.write(
  `history ${H} events, lastN ${lastN}, windows 1d/7d, 2 rate labels: ` +
    `features ${median(featUs).toFixed(1)} µs/request (median of ${rounds} × ${calls}; min ${Math.min(...featUs).toFixed(1)}), ` +
    `store append ${median(appendUs).toFixed(2)} µs/event into a full history\n`,
);
