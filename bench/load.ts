/**
 * Load test of `kdrec serve` (src/serve/server.ts) with autocannon against 127.0.0.1 only.
 *
 * Builds a synthetic export of `--items` items: untrained two-tower (dim `--dim` output) and
 * pre-ranking models over a small schema (user id, age, hour; item id, category), their catalogue
 * vectors and, with `--index hnsw`, the saved HNSW index. Latency does not depend on the weights
 * having been trained, only on the shapes, so random weights are honest for timing (the recall
 * quality of the index on trained vectors is `kdrec index eval`'s job). The export is copied to a
 * second directory for the reload run.
 *
 * The server is `kdrec serve` itself in a CHILD process (so autocannon's client does not share the
 * server's event loop), with `--workers` processes and N=500, M=100, K=10 by default; the bench
 * POSTs /recommend for random known and unknown users for `--duration` seconds and prints one JSON
 * line: p50/p90/p99 latency, req/s, errors, non-2xx responses, and the server's per-stage mean
 * latencies from GET /metrics. `--connections` is the number of concurrent requests (closed loop,
 * autocannon). `--rate R` instead offers an OPEN-loop load of R requests/s with Poisson arrivals
 * (`--arrivals uniform` for evenly spaced ones), each latency counted from the request's scheduled
 * time, so a stalled server cannot hide its backlog (no coordinated omission). autocannon's own
 * `overallRate` is not used for this: it lets each connection send its per-second quota back to back
 * at the top of each second and then idle, which measures bursts, and it back-fills the histogram
 * as if requests were due every millisecond (`recordValueWithExpectedInterval(ceil(1 / rate))`).
 * `--warmup S` sends requests for S seconds first, unrecorded (JIT, first touches of the index).
 * With `--reload`, POST /admin/reload swaps to the copy mid-run; the run must still end with zero
 * failed requests.
 *
 *   npx tsx bench/load.ts [--items 100000] [--dim 64] [--index hnsw|exact] [--duration 15]
 *                         [--connections 8] [--rate R] [--workers 1] [--warmup 3] [--reload]
 *                         [--keep DIR (reuse its export)] [--serve-args='--rate-limit off ...']
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import type { Columns } from '../src/data/batch.js';
import { Schema } from '../src/data/schema.js';
import { Rng } from '../src/engine/rng.js';
import { readSafetensors } from '../src/engine/safetensors.js';
import { Vocab } from '../src/engine/vocab.js';
import { createModel, TableRegistry } from '../src/models/index.js';
import type { TwoTowerModel } from '../src/models/types.js';
import { HnswIndex } from '../src/serve/annIndex.js';
import { readManifest } from '../src/serve/bundle.js';
import { exportModels } from '../src/serve/export.js';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '100000' },
    users: { type: 'string', default: '10000' },
    dim: { type: 'string', default: '64' },
    index: { type: 'string', default: 'hnsw' },
    duration: { type: 'string', default: '15' },
    connections: { type: 'string', default: '8' },
    rate: { type: 'string' },
    arrivals: { type: 'string', default: 'poisson' },
    workers: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '3' },
    n: { type: 'string', default: '500' },
    m: { type: 'string', default: '100' },
    k: { type: 'string', default: '10' },
    reload: { type: 'boolean', default: false },
    keep: { type: 'string' },
    /** Extra `kdrec serve` options, space-separated (e.g. rate limits on or off). */
    'serve-args': { type: 'string', default: '' },
  },
});

function num(name: keyof typeof values): number {
  const v = Number(values[name]);
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`--${name}: expected a positive integer, got ${values[name]}`);
  return v;
}

const userTok = (u: number) => `u${u}`;
const itemTok = (i: number) => `i${i}`;

/** Writes the synthetic export (and its HNSW index) to `dir`. */
function buildExport(dir: string, nItems: number, nUsers: number, dim: number, index: string): void {
  const schema = new Schema(
    {
      fields: [
        { name: 'user_id', kind: 'categorical', group: 'user' },
        { name: 'age', kind: 'categorical', group: 'user' },
        { name: 'hour', kind: 'categorical', group: 'context' },
        { name: 'item_id', kind: 'categorical', group: 'item' },
        { name: 'category', kind: 'categorical', group: 'item' },
        { name: 'click', kind: 'label' },
      ],
    },
    {
      tableSizes: { user_id: nUsers + 1, age: 8, hour: 25, item_id: nItems + 1, category: 101 },
      numericStats: {},
    },
  );
  const vocab = (name: string, n: number, tok: (k: number) => string) =>
    Vocab.fromCounts(
      name,
      Array.from({ length: n }, (_, i) => [tok(i + 1), n - i] as const),
    );
  const registry = new TableRegistry({ initStd: 0.1 });
  const rng = new Rng(1);
  const recall = createModel(
    {
      type: 'two-tower',
      name: 'student',
      embeddingDim: 16,
      userHidden: [dim, dim],
      itemHidden: [dim, dim],
      label: 'click',
    },
    schema,
    registry,
    rng.fork('recall'),
  ) as TwoTowerModel;
  const prerank = createModel(
    { type: 'prerank-mlp', name: 'pre', embeddingDim: 16, crossDim: 16, hidden: [64, 32], label: 'click' },
    schema,
    registry.namespace('pre'),
    rng.fork('pre'),
  );
  const items: Columns = {
    size: nItems,
    cat: {
      item_id: Int32Array.from({ length: nItems }, (_, i) => i + 1),
      category: Int32Array.from({ length: nItems }, (_, i) => 1 + (i % 100)),
    },
    seq: {},
    num: {},
    labels: {},
    extra: {},
  };
  const users: Columns = {
    size: nUsers,
    cat: {
      user_id: Int32Array.from({ length: nUsers }, (_, u) => u + 1),
      age: Int32Array.from({ length: nUsers }, (_, u) => 1 + (u % 7)),
    },
    seq: {},
    num: {},
    labels: {},
    extra: {},
  };
  const t = performance.now();
  exportModels(
    {
      schema,
      vocabs: {
        user_id: vocab('user_id', nUsers, userTok),
        item_id: vocab('item_id', nItems, itemTok),
        age: vocab('age', 7, (k) => `a${k}`),
        hour: vocab('hour', 24, (k) => `h${k}`),
        category: vocab('category', 100, (k) => `c${k}`),
      },
      items,
      itemIds: Array.from({ length: nItems }, (_, i) => itemTok(i + 1)),
      users: { ids: Array.from({ length: nUsers }, (_, u) => userTok(u + 1)), columns: users },
      recall,
      prerank,
      source: { bench: 'load.ts synthetic export' },
    },
    dir,
  );
  process.stderr.write(
    `export: ${nItems} items × dim ${dim} in ${((performance.now() - t) / 1000).toFixed(1)} s\n`,
  );
  if (index === 'hnsw') {
    const m = readManifest(dir);
    const vectorsFile = join(dir, m.files.itemVectors);
    const t1 = performance.now();
    const vectors = readVectors(vectorsFile);
    const idx = new HnswIndex(m.dim, vectors, m.scoreFn);
    idx.save(dir, m);
    process.stderr.write(`hnsw build: ${((performance.now() - t1) / 1000).toFixed(1)} s\n`);
  }
}

function readVectors(path: string): Float32Array {
  const t = readSafetensors(path).tensors['vectors'];
  if (!t || !(t.data instanceof Float32Array)) throw new Error(`${path}: no F32 'vectors'`);
  return t.data;
}

interface LoadResult {
  requests: number;
  reqPerSec: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  errors: number;
  timeouts: number;
  non2xx: number;
}

/**
 * Open-loop load: requests are scheduled at `rate`/s (Poisson or evenly spaced) for `durationS`
 * seconds whatever the server does, over a keep-alive pool; latency = completion − scheduled time.
 */
async function openLoop(
  url: string,
  rate: number,
  durationS: number,
  body: () => string,
  arrivals: 'poisson' | 'uniform',
  rng: Rng,
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const target = new URL(`${url}/recommend`);
  const latencies: number[] = [];
  let errors = 0;
  let timeouts = 0;
  let non2xx = 0;
  const inflight: Promise<void>[] = [];
  const send = (scheduled: number) =>
    new Promise<void>((resolve) => {
      const payload = body();
      const req = httpRequest(
        target,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
          timeout: 10_000,
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if ((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300)
              latencies.push(performance.now() - scheduled);
            else non2xx++;
            resolve();
          });
        },
      );
      req.on('timeout', () => {
        timeouts++;
        req.destroy();
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(payload);
    });
  const t0 = performance.now();
  const end = t0 + durationS * 1000;
  let at = t0;
  for (;;) {
    at += arrivals === 'poisson' ? (-Math.log(1 - rng.nextFloat()) * 1000) / rate : 1000 / rate;
    if (at >= end) break;
    const wait = at - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inflight.push(send(at));
  }
  await Promise.all(inflight);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.NaN;
  return {
    requests: inflight.length,
    reqPerSec: latencies.length / durationS,
    p50: q(0.5),
    p90: q(0.9),
    p99: q(0.99),
    max: latencies[latencies.length - 1] ?? Number.NaN,
    errors,
    timeouts,
    non2xx,
  };
}

/** Mean seconds per stage from the Prometheus histogram sums and counts. */
function stageMeans(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^kdrec_cascade_stage_duration_seconds_(sum|count)\{stage="(\w+)"\} ([\d.e+-]+)$/.exec(line);
    if (!m) continue;
    if (m[1] === 'sum') sums.set(m[2]!, Number(m[3]));
    else out[m[2]!] = Number(m[3]);
  }
  return Object.fromEntries(Object.entries(out).map(([s, c]) => [s, ((sums.get(s) ?? 0) / c) * 1000]));
}

async function main(): Promise<void> {
  const nItems = num('items');
  const nUsers = num('users');
  const root = values.keep ?? mkdtempSync(join(tmpdir(), 'kdrec-load-'));
  mkdirSync(root, { recursive: true });
  const v1 = join(root, 'v1');
  // --keep DIR with an earlier build of the same size is reused (the HNSW build dominates setup).
  const reuse =
    existsSync(join(v1, 'manifest.json')) &&
    readManifest(v1).itemCount === nItems &&
    (values.index !== 'hnsw' || existsSync(join(v1, 'index.json')));
  if (!reuse) {
    buildExport(v1, nItems, nUsers, num('dim'), values.index ?? 'hnsw');
    cpSync(v1, join(root, 'v2'), { recursive: true });
  } else process.stderr.write(`reusing the export in ${v1}\n`);

  // The compiled CLI, whether this bench runs compiled (dist/bench) or from source under tsx.
  const cli = fileURLToPath(
    new URL(
      import.meta.url.endsWith('.ts') ? '../dist/src/cli/main.js' : '../src/cli/main.js',
      import.meta.url,
    ),
  );
  if (!existsSync(cli)) throw new Error(`${cli} not found: run \`npm run build\` first`);
  const child = spawn(
    process.execPath,
    [
      cli,
      'serve',
      '--export',
      v1,
      '--export-root',
      root,
      '--port',
      '0',
      '--workers',
      String(num('workers')),
      '--index',
      values.index!,
      '--n',
      values.n!,
      '--m',
      values.m!,
      '--k',
      values.k!,
      ...values['serve-args']!.split(' ').filter((a) => a !== ''),
    ],
    { stdio: ['ignore', 'inherit', 'pipe'] },
  );
  try {
    const url = await new Promise<string>((res, rej) => {
      let buf = '';
      child.stderr.on('data', (d: Buffer) => {
        process.stderr.write(d);
        buf += d.toString();
        const m = / on (http:\/\/\S+)/.exec(buf);
        if (m) res(m[1]!);
      });
      child.on('exit', (code) => rej(new Error(`server child exited with code ${code}`)));
    });
    const rng = new Rng(7);
    // Bodies: 90% known users, 10% unknown (cold start), random hour.
    const bodies = Array.from({ length: 512 }, (_, i) =>
      JSON.stringify({
        user_id: i % 10 === 0 ? `new-${i}` : userTok(1 + rng.int(nUsers)),
        features: { hour: `h${1 + rng.int(24)}` },
        k: num('k'),
      }),
    );
    let next = 0;
    const duration = num('duration');
    const request = {
      method: 'POST' as const,
      headers: { 'content-type': 'application/json' },
      setupRequest: (req: object) => ({ ...req, body: bodies[next++ % bodies.length]! }),
    };
    const warmup = Number(values.warmup);
    if (warmup > 0)
      await autocannon({ url: `${url}/recommend`, connections: 2, duration: warmup, requests: [request] });
    let reloadResult: unknown = null;
    if (values.reload) {
      setTimeout(
        async () => {
          const t = performance.now();
          const r = await fetch(`${url}/admin/reload`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ dir: 'v2' }),
          });
          reloadResult = { status: r.status, ms: performance.now() - t, body: await r.json() };
        },
        (duration * 1000) / 2,
      );
    }
    let result: LoadResult;
    if (values.rate !== undefined) {
      if (values.arrivals !== 'poisson' && values.arrivals !== 'uniform')
        throw new Error(`--arrivals: expected poisson or uniform, got '${values.arrivals}'`);
      result = await openLoop(
        url,
        num('rate'),
        duration,
        () => bodies[next++ % bodies.length]!,
        values.arrivals,
        rng.fork('arrivals'),
      );
    } else {
      const r = await autocannon({
        url: `${url}/recommend`,
        connections: num('connections'),
        duration,
        requests: [request],
      });
      result = {
        requests: r.requests.total,
        reqPerSec: r.requests.average,
        p50: r.latency.p50,
        p90: r.latency.p90,
        p99: r.latency.p99,
        max: r.latency.max,
        errors: r.errors,
        timeouts: r.timeouts,
        non2xx: r.non2xx,
      };
    }
    const metrics = await (await fetch(`${url}/metrics`)).text();
    process.stdout.write(
      `${JSON.stringify({
        items: nItems,
        dim: num('dim'),
        index: values.index,
        n: num('n'),
        m: num('m'),
        k: num('k'),
        load:
          values.rate === undefined
            ? `closed, ${num('connections')} connections`
            : `open, ${values.arrivals} ${num('rate')}/s`,
        workers: num('workers'),
        duration,
        requests: result.requests,
        reqPerSec: Math.round(result.reqPerSec * 10) / 10,
        p50ms: Math.round(result.p50 * 10) / 10,
        p90ms: Math.round(result.p90 * 10) / 10,
        p99ms: Math.round(result.p99 * 10) / 10,
        maxMs: Math.round(result.max * 10) / 10,
        errors: result.errors,
        timeouts: result.timeouts,
        non2xx: result.non2xx,
        stageMeanMs: stageMeans(metrics),
        reload: reloadResult,
      })}\n`,
    );
  } finally {
    child.kill('SIGTERM');
    if (values.keep === undefined) rmSync(root, { recursive: true, force: true });
  }
}

await main();
