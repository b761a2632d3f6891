/**
 * The evaluation protocol of `kdrec experiment`: one fixed test set, built once per dataset, on
 * which every model (teacher, baselines, students, every seed) is scored the same way.
 *
 * 1. Classification on the test split (AUC, GAUC, LogLoss against the click label): the test
 *    split's exposures, or, when the students train on recall samples (e.g. MovieLens, whose log
 *    has clicks only), the test clicks each followed by random catalogue negatives drawn with the
 *    evaluation seed.
 * 2. Ranking on a fixed candidate set: up to `users` test users (those with at least one test
 *    click, a seeded sample when there are more), each at the context and time of their first test
 *    request, against the same C candidate items: the whole catalogue when it has at most
 *    `maxCandidates` items, otherwise the evaluated users' test-clicked items plus a uniform sample
 *    of the rest of the catalogue up to `maxCandidates` (said in `protocol`). Every model scores the
 *    same users × candidates rows (privileged window counts recomputed for each (user, item, time),
 *    so the teacher scores them honestly). From these scores:
 *    - Recall@K and NDCG@K of the user's test clicks, the user's training clicks excluded from the
 *      ranking (./metrics/retrieval.ts; full-corpus when C is the catalogue, Krichene & Rendle 2020);
 *    - overlap@K and Kendall tau with the teacher's scores over the same candidates
 *      (./metrics/consistency.ts; Tang & Wang, KDD'18);
 *    - on the simulator, trueClicks@K and trueDwell@K: the expected clicks Σ pClick and long dwells
 *      Σ pClick·pLongDwell of the model's top K from the World's ground truth, in the user's true
 *      short-term state at that time (./metrics/utility.ts), training clicks excluded as above.
 * 3. Inference cost: wall-clock milliseconds per 1000 candidate rows of the model's forward pass
 *    over the candidate set (batches of 4096, one thread, after one untimed warm-up batch). This is
 *    the generic per-row forward; a deployed two-tower would precompute item vectors and use ANN.
 */
import { ColumnarDataset } from '../data/batch.js';
import type { LoadedDataset } from '../data/dataset.js';
import { pairSamples, recallSamples } from '../data/samples.js';
import { loadWorld } from '../data/simulator.js';
import { stateAt } from '../data/world.js';
import { Rng } from '../engine/rng.js';
import type { Model } from '../models/types.js';
import { predictLogits } from '../train/trainer.js';
import { auc } from './metrics/auc.js';
import { consistencyMetrics } from './metrics/consistency.js';
import { gauc } from './metrics/gauc.js';
import { logLoss } from './metrics/logloss.js';
import { retrievalMetrics, type UserItemLists, userItemListsFromPairs } from './metrics/retrieval.js';
import { groundTruthUtility } from './metrics/utility.js';

export interface EvalSettings {
  /** Most users evaluated on the candidate set. */
  users: number;
  /** Most candidate items per user. */
  maxCandidates: number;
  /** The K of Recall@K, NDCG@K, overlap@K and the ground-truth metrics. */
  k: number;
  /** Cut-offs of the overlap@K curve. */
  overlapKs: number[];
  /** Seed of the user sample, the candidate sample and the test negatives (the same for every model seed). */
  seed: number;
}

export interface EvalSet {
  dataset: LoadedDataset;
  settings: EvalSettings;
  clickLabel: string;
  /** Rows of the classification metrics. */
  classification: ColumnarDataset;
  classificationKind: 'exposure' | 'recall';
  /** False when no test user has both a click and a non-click (GAUC is then undefined and left out). */
  gaucDefined: boolean;
  /** userKeys of the evaluated users (ascending). */
  users: Int32Array;
  /** itemKeys of the candidates (ascending); candidate c of user q is row q·C + c. */
  candidates: Int32Array;
  candidateRows: ColumnarDataset;
  /** Test clicks and training clicks per evaluated user, as candidate indices. */
  relevant: UserItemLists;
  exclude: UserItemLists;
  /** Per evaluated user: 1 when the user has a training-split event (warm), 0 for a cold user. */
  warm: Uint8Array;
  /** Ground truth per candidate row (simulator only). */
  truth: { clicks: Float32Array; dwell: Float32Array } | null;
  /** The best achievable trueClicks@K / trueDwell@K over the same candidates (simulator only). */
  oracle: Record<string, number> | null;
  /** One paragraph saying what was measured on what. */
  protocol: string;
}

function sampleWithoutReplacement(values: Int32Array, n: number, rng: Rng): Int32Array {
  if (values.length <= n) return values.slice();
  const a = values.slice();
  for (let i = 0; i < n; i++) {
    const j = i + rng.int(a.length - i);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a.subarray(0, n).slice().sort();
}

/** Builds the fixed test set of a dataset (see the file header). */
export function buildEvalSet(
  ds: LoadedDataset,
  settings: EvalSettings,
  classificationKind: 'exposure' | 'recall',
  negatives: { count: number; sampler: 'uniform' | 'popularity' },
): EvalSet {
  const clickLabel = ds.labels.click;
  const rng = new Rng(settings.seed);
  const test = ds.splits.test.columns;
  const train = ds.splits.train.columns;
  const where = `${ds.name}: evaluation`;
  const testClick = test.labels[clickLabel];
  const trainClick = train.labels[clickLabel];
  if (!testClick || !trainClick || !test.userKey || !test.itemKey || !train.userKey || !train.itemKey) {
    throw new Error(`${where}: the splits need userKey, itemKey and the click label '${clickLabel}'`);
  }
  if (test.size === 0) throw new Error(`${where}: the test split is empty`);
  const nUsersAll = ds.userIds.length;
  const nItems = ds.items.size;

  const classification =
    classificationKind === 'exposure'
      ? ds.splits.test
      : recallSamples(ds, {
          split: 'test',
          negatives: negatives.count,
          sampler: negatives.sampler,
          rng: rng.fork('test-negatives'),
        });

  const gaucDefined = hasBothClasses(
    classification.columns.userKey!,
    classification.columns.labels[clickLabel]!,
  );

  // Users with at least one test click, and the first test row of each (its context and time).
  const firstRow = new Int32Array(nUsersAll).fill(-1);
  const hasClick = new Uint8Array(nUsersAll);
  for (let r = 0; r < test.size; r++) {
    const u = test.userKey[r]!;
    if (firstRow[u] === -1) firstRow[u] = r;
    if (testClick[r]! > 0) hasClick[u] = 1;
  }
  const eligible: number[] = [];
  for (let u = 0; u < nUsersAll; u++) if (hasClick[u]) eligible.push(u);
  if (eligible.length === 0) throw new Error(`${where}: no user has a click in the test split`);
  const users = sampleWithoutReplacement(Int32Array.from(eligible), settings.users, rng.fork('users'));
  const Q = users.length;
  const qOf = new Int32Array(nUsersAll).fill(-1);
  users.forEach((u, q) => {
    qOf[u] = q;
  });

  // Candidates: the catalogue, or the users' test clicks plus a uniform sample of the rest.
  let candidates: Int32Array;
  let candidateNote: string;
  if (nItems <= settings.maxCandidates) {
    candidates = Int32Array.from({ length: nItems }, (_, i) => i);
    candidateNote = `all ${nItems} catalogue items (full corpus)`;
  } else {
    const inSet = new Uint8Array(nItems);
    let clicked: number[] = [];
    for (let r = 0; r < test.size; r++) {
      const it = test.itemKey[r]!;
      if (testClick[r]! > 0 && qOf[test.userKey[r]!]! >= 0 && !inSet[it]) {
        inSet[it] = 1;
        clicked.push(it);
      }
    }
    if (clicked.length > settings.maxCandidates) {
      clicked = Array.from(
        sampleWithoutReplacement(Int32Array.from(clicked), settings.maxCandidates, rng.fork('clicked')),
      );
      inSet.fill(0);
      for (const it of clicked) inSet[it] = 1;
    }
    const rest: number[] = [];
    for (let i = 0; i < nItems; i++) if (!inSet[i]) rest.push(i);
    const fill = sampleWithoutReplacement(
      Int32Array.from(rest),
      settings.maxCandidates - clicked.length,
      rng.fork('fill'),
    );
    candidates = Int32Array.from([...clicked, ...fill]).sort();
    candidateNote =
      `${candidates.length} of ${nItems} catalogue items: the evaluated users' ${clicked.length} test-clicked ` +
      `items plus ${fill.length} drawn uniformly from the rest (sampled, not full-corpus)`;
  }
  const C = candidates.length;
  const cOf = new Int32Array(nItems).fill(-1);
  candidates.forEach((it, c) => {
    cOf[it] = c;
  });

  const lists = (cols: typeof test, click: Float32Array) => {
    const us: number[] = [];
    const is: number[] = [];
    for (let r = 0; r < cols.size; r++) {
      const q = qOf[cols.userKey![r]!]!;
      const c = cOf[cols.itemKey![r]!]!;
      if (q >= 0 && c >= 0 && click[r]! > 0) {
        us.push(q);
        is.push(c);
      }
    }
    return userItemListsFromPairs(Q, Int32Array.from(us), Int32Array.from(is));
  };
  const relevant = lists(test, testClick);
  const exclude = lists(train, trainClick);
  // Cold-start honesty (issue 9): a global temporal split leaves many test users without training history.
  const warm = new Uint8Array(Q);
  for (let r = 0; r < train.size; r++) {
    const q = qOf[train.userKey[r]!]!;
    if (q >= 0) warm[q] = 1;
  }
  let nWarm = 0;
  for (let q = 0; q < Q; q++) nWarm += warm[q]!;

  const srcRows = new Int32Array(Q * C);
  const itemKey = new Int32Array(Q * C);
  for (let q = 0; q < Q; q++) {
    srcRows.fill(firstRow[users[q]!]!, q * C, (q + 1) * C);
    itemKey.set(candidates, q * C);
  }
  const candidateRows = new ColumnarDataset(
    pairSamples(ds, test, srcRows, itemKey, new Uint8Array(Q * C)),
    `${where} candidate rows`,
  );

  let truth: EvalSet['truth'] = null;
  let oracle: EvalSet['oracle'] = null;
  if (ds.kind === 'sim') {
    truth = simulatorTruth(ds, users, candidates, firstRow);
    oracle = groundTruthUtility({
      nUsers: Q,
      nItems: C,
      scores: truth.clicks,
      truth: [
        { name: 'trueClicks', probabilities: truth.clicks },
        { name: 'trueDwell', probabilities: truth.dwell },
      ],
      ks: [settings.k],
      exclude,
    }).oracle;
  }

  const protocol =
    `Classification metrics (AUC, ${gaucDefined ? 'GAUC, ' : ''}LogLoss vs '${clickLabel}') on ${classification.size} test rows ` +
    (classificationKind === 'exposure'
      ? '(the test split as logged). '
      : `(each test click plus ${negatives.count} ${negatives.sampler} catalogue negatives). `) +
    `Ranking metrics on ${Q} test users (those with a test click${eligible.length > Q ? `, a seeded sample of ${eligible.length}` : ''}), ` +
    `each at the context and time of their first test request, over ${candidateNote}; ` +
    `the user's training clicks are excluded from the top ${settings.k}. ` +
    `'(warm)' / '(cold)' metrics: the ${nWarm} evaluated users with training history and the ${Q - nWarm} without. ` +
    `Recall@${settings.k}/NDCG@${settings.k}: the user's test clicks. overlap@K, kendallTau: agreement with the teacher's scores on the same candidates.` +
    (truth
      ? ` trueClicks@${settings.k}/trueDwell@${settings.k}: expected clicks (Σ pClick) and long dwells (Σ pClick·pLongDwell) of the top ${settings.k} ` +
        `under the simulator's ground truth in the user's true short-term state; the best possible list reaches ` +
        `${oracle![`trueClicks@${settings.k}`]!.toFixed(3)} and ${oracle![`trueDwell@${settings.k}`]!.toFixed(3)}.`
      : '');

  return {
    dataset: ds,
    settings,
    clickLabel,
    classification,
    classificationKind,
    gaucDefined,
    users,
    candidates,
    candidateRows,
    relevant,
    exclude,
    warm,
    truth,
    oracle,
    protocol,
  };
}

/** Whether some user has both a positive and a negative row (GAUC needs one). */
function hasBothClasses(userKey: Int32Array, labels: Float32Array): boolean {
  const seen = new Map<number, number>();
  for (let r = 0; r < userKey.length; r++) {
    const bit = labels[r]! > 0 ? 1 : 2;
    const prev = seen.get(userKey[r]!) ?? 0;
    if ((prev | bit) === 3) return true;
    seen.set(userKey[r]!, prev | bit);
  }
  return false;
}

/** World index of a dataset id; the simulator writes ids equal to the World's indices. */
function worldIndex(id: string, what: string, ds: LoadedDataset): number {
  const v = Number(id);
  if (!Number.isInteger(v) || v < 0) {
    throw new Error(`${ds.name}: ${what} id '${id}' is not a simulator index (expected an integer ≥ 0)`);
  }
  return v;
}

function simulatorTruth(
  ds: LoadedDataset,
  users: Int32Array,
  candidates: Int32Array,
  firstRow: Int32Array,
): { clicks: Float32Array; dwell: Float32Array } {
  const world = loadWorld(ds.path);
  const Q = users.length;
  const C = candidates.length;
  const worldItems = Int32Array.from(candidates, (k) => worldIndex(ds.itemIds[k]!, 'item', ds));
  // Each evaluated user's logged clicks (all splits), for the true short-term state at request time.
  const ev = ds.events.columns;
  const click = ev.labels[ds.labels.click]!;
  const q = new Int32Array(ds.userIds.length).fill(-1);
  users.forEach((u, i) => {
    q[u] = i;
  });
  const hist: { ts: number[]; item: number[] }[] = Array.from({ length: Q }, () => ({ ts: [], item: [] }));
  for (let r = 0; r < ev.size; r++) {
    const qi = q[ev.userKey![r]!]!;
    if (qi < 0 || !(click[r]! > 0)) continue;
    hist[qi]!.ts.push(ev.ts![r]!);
    hist[qi]!.item.push(worldIndex(ds.itemIds[ev.itemKey![r]!]!, 'item', ds));
  }
  const clicks = new Float32Array(Q * C);
  const dwell = new Float32Array(Q * C);
  const pc = new Float32Array(C);
  const pl = new Float32Array(C);
  const test = ds.splits.test.columns;
  for (let i = 0; i < Q; i++) {
    const t = test.ts![firstRow[users[i]!]!]!;
    const state = stateAt(world, hist[i]!, t);
    world.scoreItems(worldIndex(ds.userIds[users[i]!]!, 'user', ds), worldItems, state, pc, pl);
    for (let c = 0; c < C; c++) {
      clicks[i * C + c] = pc[c]!;
      dwell[i * C + c] = pc[c]! * pl[c]!;
    }
  }
  return { clicks, dwell };
}

export interface ModelEvaluation {
  metrics: Record<string, number>;
  overlapAtK: { k: number; overlap: number }[];
  inferenceMsPer1k: number;
  /** The model's scores on the candidate rows (the teacher's are the consistency reference). */
  candidateScores: Float32Array;
}

function sigmoidAll(logits: Float32Array): Float32Array {
  const p = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) p[i] = 1 / (1 + Math.exp(-logits[i]!));
  return p;
}

/**
 * Scores `model`'s main output (its first output name) on the eval set. `teacherScores` are the
 * teacher's candidate scores (omit when evaluating the teacher itself: it is compared with itself).
 * `probabilistic: false` skips LogLoss for scorers whose output is not a logit (popularity).
 */
export async function evaluateModel(
  model: Model,
  set: EvalSet,
  teacherScores: Float32Array | null,
  options: { probabilistic?: boolean } = {},
): Promise<ModelEvaluation> {
  const out = model.outputNames[0]!;
  const k = set.settings.k;
  const metrics: Record<string, number> = {};
  const cls = set.classification.columns;
  const y = cls.labels[set.clickLabel]!;
  const logits = (await predictLogits(model, set.classification, [out]))[out]!;
  metrics['AUC'] = auc(y, logits);
  if (set.gaucDefined) metrics['GAUC'] = gauc(cls.userKey!, y, logits).gauc;
  if (options.probabilistic !== false) metrics['LogLoss'] = logLoss(y, sigmoidAll(logits));

  const Q = set.users.length;
  const C = set.candidates.length;
  // One untimed batch first, so the cost measured is the model's, not V8 compiling its code paths.
  const warmRows = Math.min(set.candidateRows.size, 4096);
  await predictLogits(model, set.candidateRows, [out], { limit: warmRows });
  const t0 = performance.now();
  const scores = (await predictLogits(model, set.candidateRows, [out]))[out]!;
  const inferenceMsPer1k = (performance.now() - t0) / (set.candidateRows.size / 1000);
  const ret = retrievalMetrics({
    nUsers: Q,
    nItems: C,
    scores,
    relevant: set.relevant,
    exclude: set.exclude,
    ks: [k],
  });
  metrics[`Recall@${k}`] = ret.metrics[`Recall@${k}`]!;
  metrics[`NDCG@${k}`] = ret.metrics[`NDCG@${k}`]!;
  for (const [group, flag] of [
    ['warm', 1],
    ['cold', 0],
  ] as const) {
    const qs: number[] = [];
    for (let q = 0; q < Q; q++) if (set.warm[q] === flag) qs.push(q);
    if (qs.length === 0) continue;
    const sub = retrievalMetrics({
      nUsers: qs.length,
      nItems: C,
      scores: (u, out) => out.set(scores.subarray(qs[u]! * C, qs[u]! * C + C)),
      relevant: subsetLists(set.relevant, qs),
      exclude: subsetLists(set.exclude, qs),
      ks: [k],
    });
    metrics[`Recall@${k} (${group})`] = sub.metrics[`Recall@${k}`]!;
    metrics[`NDCG@${k} (${group})`] = sub.metrics[`NDCG@${k}`]!;
  }
  const cons = consistencyMetrics({
    teacherScores: teacherScores ?? scores,
    studentScores: scores,
    listLength: C,
    ks: [...new Set([...set.settings.overlapKs, k])].sort((a, b) => a - b),
  });
  metrics[`overlap@${k}`] = cons.metrics[`overlap@${k}`]!;
  // Undefined (NaN) only when every list's scores are constant; such a model gets no tau.
  const tau = cons.metrics['kendallTau']!;
  if (Number.isFinite(tau)) metrics['kendallTau'] = tau;
  if (set.truth !== null) {
    const gt = groundTruthUtility({
      nUsers: Q,
      nItems: C,
      scores,
      truth: [
        { name: 'trueClicks', probabilities: set.truth.clicks },
        { name: 'trueDwell', probabilities: set.truth.dwell },
      ],
      ks: [k],
      exclude: set.exclude,
    });
    Object.assign(metrics, gt.metrics);
  }
  return {
    metrics,
    overlapAtK: cons.overlapAtK.filter((p) => set.settings.overlapKs.includes(p.k)),
    inferenceMsPer1k,
    candidateScores: scores,
  };
}

/** The CSR lists of the given users (in that order). */
function subsetLists(lists: UserItemLists, users: readonly number[]): UserItemLists {
  const offsets = new Int32Array(users.length + 1);
  users.forEach((u, i) => {
    offsets[i + 1] = offsets[i]! + (lists.offsets[u + 1]! - lists.offsets[u]!);
  });
  const items = new Int32Array(offsets[users.length]!);
  users.forEach((u, i) => {
    items.set(lists.items.subarray(lists.offsets[u]!, lists.offsets[u + 1]!), offsets[i]!);
  });
  return { offsets, items };
}
