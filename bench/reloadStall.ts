/**
 * How long a server's event loop stalls while it loads an export (issue 7: hot reload under load).
 * A 1 ms setInterval probe records the largest gap between two ticks during each load, with
 * perf_hooks.monitorEventLoopDelay as a cross-check; wall and CPU time of the load are printed too.
 * The previous state stays referenced while the next one loads, as in a server's reload.
 *
 * Two loaders over the same files, measured in the same run: `sync` (loadServingState: blocks for
 * the whole load, the reference) and `async` (loadServingStateAsync, what `kdrec serve` uses).
 *
 *   npm run build && node dist/bench/reloadStall.js --export DIR [--runs 5]
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { loadServingState, loadServingStateAsync, type ServingState } from '../src/serve/servingState.js';

const { values } = parseArgs({
  options: { export: { type: 'string' }, runs: { type: 'string', default: '5' } },
});
if (values.export === undefined) throw new Error('--export DIR is required');
const dir = values.export;
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`--runs: expected a positive integer, got ${values.runs}`);

let previous: ServingState | null = null;

async function once(mode: 'sync' | 'async') {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  let last = performance.now();
  let maxGap = 0;
  const probe = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 1);
  await new Promise((r) => setTimeout(r, 50));
  maxGap = 0;
  h.reset();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const state = mode === 'sync' ? loadServingState(dir, 'hnsw') : await loadServingStateAsync(dir, 'hnsw');
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  previous = state;
  await new Promise((r) => setTimeout(r, 20));
  h.disable();
  clearInterval(probe);
  return {
    mode,
    wallMs: Math.round(wallMs),
    cpuMs: Math.round((c.user + c.system) / 1000),
    maxStallMs: Math.round(Math.max(maxGap, h.max / 1e6)),
    p99DelayMs: Math.round(h.percentile(99) / 1e6),
    items: state.index.size(),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const results: Awaited<ReturnType<typeof once>>[] = [];
// Interleaved, so load from other processes hits both loaders alike.
for (let i = 0; i < runs; i++) for (const mode of ['sync', 'async'] as const) results.push(await once(mode));
for (const mode of ['sync', 'async'] as const) {
  const rs = results.filter((r) => r.mode === mode);
  process.stdout.write(
    `${JSON.stringify({
      mode,
      dir,
      runs,
      items: rs[0]!.items,
      medianMaxStallMs: median(rs.map((r) => r.maxStallMs)),
      maxStallMs: rs.map((r) => r.maxStallMs),
      medianP99DelayMs: median(rs.map((r) => r.p99DelayMs)),
      medianWallMs: median(rs.map((r) => r.wallMs)),
      medianCpuMs: median(rs.map((r) => r.cpuMs)),
    })}\n`,
  );
}
void previous;
