/**
 * `kdrec eval --run RUN`: the classification metrics of a trained run's models (AUC, GAUC and
 * LogLoss of each supervised output against its label) over a whole split, read through the batch
 * stream (src/data/stream.ts): a prepared dataset streams from Parquet a window at a time, any other
 * dataset is read in memory through the same interface. Per row only the score, the label and the
 * user key are kept (12 bytes), so a 10^8-row split needs ~1.2 GB, not its features.
 *
 * With `shard` the metrics are the shard's; `scoresOut` writes the shard's rows (sample id, user
 * key, labels, scores) so the shards of a distributed evaluation can be combined exactly.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { LabelRoles, SplitName } from '../data/dataset.js';
import { PREPARED_KIND, parseDatasetSpec } from '../data/loaders/index.js';
import { openPrepared } from '../data/prepared.js';
import type { Schema } from '../data/schema.js';
import { type BatchSource, MemorySource, type ShardSpec, shardRows } from '../data/stream.js';
import type { Model } from '../models/types.js';
import { parseConfig } from '../run/config.js';
import { loadConfigDataset } from '../run/dataset.js';
import { loadRun } from '../run/loadRun.js';
import { readRunConfig } from '../run/runDir.js';
import { evalPairs, predictLogits } from '../train/trainer.js';
import { auc } from './metrics/auc.js';
import { gauc } from './metrics/gauc.js';
import { logLoss } from './metrics/logloss.js';

export interface OutputEvaluation {
  label: string;
  rows: number;
  auc: number | null;
  gauc: number | null;
  logloss: number;
}

export interface StreamEvalResult {
  run: string;
  split: SplitName;
  shard: string;
  rows: number;
  seconds: number;
  models: Record<string, Record<string, OutputEvaluation>>;
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

async function evaluateModelOn(
  model: Model,
  pairs: Record<string, string>,
  source: BatchSource,
  shard: ShardSpec | undefined,
): Promise<{
  metrics: Record<string, OutputEvaluation>;
  scores: Record<string, Float32Array>;
  labels: Record<string, Float32Array>;
  users: Int32Array;
  ids: Float64Array;
}> {
  const rows = shardRows(source, shard);
  const labelNames = [...new Set(Object.values(pairs))];
  const labels = Object.fromEntries(labelNames.map((l) => [l, new Float32Array(rows)]));
  const users = new Int32Array(rows);
  const ids = new Float64Array(rows);
  const scores = await predictLogits(model, source, Object.keys(pairs), {
    ...(shard !== undefined ? { shard } : {}),
    onBatch: (b, n, at) => {
      for (const l of labelNames) {
        const y = b.labels[l];
        if (y === undefined) throw new Error(`${source.name}: no label column '${l}'`);
        labels[l]!.set(y.subarray(0, n), at);
      }
      if (b.userKey !== undefined) users.set(b.userKey.subarray(0, n), at);
      if (b.sampleId !== undefined) ids.set(b.sampleId.subarray(0, n), at);
      else for (let i = 0; i < n; i++) ids[at + i] = at + i;
    },
  });
  const metrics: Record<string, OutputEvaluation> = {};
  for (const [o, l] of Object.entries(pairs)) {
    const y = labels[l]!;
    const s = scores[o]!;
    let pos = 0;
    for (let i = 0; i < y.length; i++) if (y[i]! > 0) pos++;
    const both = pos > 0 && pos < y.length;
    let g: number | null = null;
    if (both) {
      const r = gauc(users, y, s);
      g = Number.isFinite(r.gauc) ? r.gauc : null;
    }
    metrics[o] = {
      label: l,
      rows,
      auc: both ? auc(y, s) : null,
      gauc: g,
      logloss: rows > 0 ? logLoss(y, Float32Array.from(s, sigmoid)) : Number.NaN,
    };
  }
  return { metrics, scores, labels, users, ids };
}

export async function evaluateRunStreamed(opts: {
  run: string;
  split: SplitName;
  shard?: ShardSpec;
  scoresOut?: string;
  log?: (msg: string) => void;
}): Promise<StreamEvalResult> {
  const t0 = performance.now();
  const cfg = parseConfig(readRunConfig(opts.run), join(opts.run, 'config.json'));
  const spec = parseDatasetSpec(cfg.dataset.spec);
  let source: BatchSource;
  let close = async () => {};
  let schema: Schema;
  let labels: LabelRoles;
  if (spec.kind === PREPARED_KIND) {
    const prep = await openPrepared(spec.path!);
    source = prep.splits[opts.split];
    close = () => prep.close();
    schema = prep.schema;
    labels = prep.labels;
  } else {
    const ds = await loadConfigDataset(cfg, opts.log);
    source = new MemorySource(ds.splits[opts.split], `${ds.name} ${opts.split}`);
    schema = ds.schema;
    labels = ds.labels;
  }
  try {
    const run = loadRun(opts.run, schema, { labels });
    const teacherLabels = run.teacher?.supervised ?? {};
    const models: StreamEvalResult['models'] = {};
    const columns: string[] = [];
    const out: { name: string; values: ArrayLike<number> }[] = [];
    for (const [role, model] of [
      ['teacher', run.teacher],
      ['student', run.student],
    ] as const) {
      if (model === null) continue;
      const pairs =
        role === 'teacher'
          ? { ...teacherLabels }
          : evalPairs(cfg.mode === 'dmtl' ? {} : model.supervised, cfg.distill, teacherLabels);
      if (Object.keys(pairs).length === 0) continue;
      opts.log?.(
        `eval: ${role} (${model.kind}) on ${source.name}${opts.shard ? ` shard ${opts.shard.index}/${opts.shard.count}` : ''}`,
      );
      const r = await evaluateModelOn(model, pairs, source, opts.shard);
      models[role] = r.metrics;
      if (out.length === 0) {
        out.push({ name: '_sample', values: r.ids }, { name: '_user', values: r.users });
        for (const [l, y] of Object.entries(r.labels)) out.push({ name: l, values: y });
      }
      for (const [o, s] of Object.entries(r.scores)) {
        columns.push(`${role}_${o}`);
        out.push({ name: `${role}_${o}`, values: s });
      }
    }
    if (opts.scoresOut !== undefined) writeScoresCsv(opts.scoresOut, out);
    return {
      run: opts.run,
      split: opts.split,
      shard: opts.shard ? `${opts.shard.index}/${opts.shard.count}` : '0/1',
      rows: shardRows(source, opts.shard),
      seconds: Number(((performance.now() - t0) / 1000).toFixed(2)),
      models,
    };
  } finally {
    await close();
  }
}

/** The shard's rows as CSV (sample id, user key, labels, scores), written in chunks of 64k rows. */
function writeScoresCsv(path: string, cols: { name: string; values: ArrayLike<number> }[]): void {
  const n = cols[0]?.values.length ?? 0;
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, `${cols.map((c) => c.name).join(',')}\n`);
    for (let start = 0; start < n; start += 65_536) {
      const lines: string[] = [];
      for (let i = start; i < Math.min(n, start + 65_536); i++)
        lines.push(cols.map((c) => String(c.values[i])).join(','));
      writeSync(fd, `${lines.join('\n')}\n`);
    }
  } finally {
    closeSync(fd);
  }
}
