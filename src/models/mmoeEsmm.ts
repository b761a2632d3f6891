/**
 * Multi-task teacher: MMoE experts and gates feeding ESMM's CTR and CVR towers.
 *
 * Papers:
 * - J. Ma, Z. Zhao, X. Yi, J. Chen, L. Hong, E. Chi, "Modeling Task Relationships in Multi-task
 *   Learning with Multi-gate Mixture-of-Experts", KDD'18. Eq. 5–6: with experts f_e and one gate per
 *   task, g^k(x) = softmax(W_gk x),  f^k(x) = Σ_e g^k(x)_e · f_e(x),  y_k = h^k(f^k(x)).
 * - X. Ma, L. Zhao, G. Huang, Z. Wang, Z. Hu, X. Zhu, K. Gai, "Entire Space Multi-Task Model: An
 *   Effective Approach for Estimating Post-Click Conversion Rate", SIGIR'18. Eq. 1–3:
 *   p(ctcvr) = p(ctr) · p(cvr), and the loss is taken on CTR and CTCVR only, both over the whole
 *   exposure space:  L = Σ_i BCE(y_i, p_ctr) + Σ_i BCE(y_i·z_i, p_ctr·p_cvr).
 *   CVR gets no loss of its own: it is learned implicitly through the product, which removes the
 *   sample-selection bias of training CVR on clicked samples only. `hardLoss` implements exactly L.
 *
 * Outputs (all [B] logits): `ctr` = a, `cvr` = b (the two towers), and `ctcvr`, defined as the
 * logit of the product probability:  ctcvr = logit(σ(a)·σ(b)) = log p − log(1 − p).
 * Computing it naively loses everything in float32 (σ(a)·σ(b) rounds to 1 or 0 for large |a|, |b|),
 * and the log1mexp route log(1 − p) = log(1 − exp(log p)) still fails when log p rounds to 0. We use
 *   log p      = logσ(a) + logσ(b)
 *   1 − p      = σ(−a) + σ(a)·σ(−b)        (both terms positive: 1 − σaσb = (1 − σa) + σa(1 − σb))
 *   log(1 − p) = logaddexp(logσ(−a), logσ(a) + logσ(−b))
 * which is stable for all a, b (each piece is a stable logσ; see stableMath.ts), so σ(ctcvr)
 * equals σ(ctr)·σ(cvr) to float32 rounding even at |logits| ≈ 100 (test/models/mmoeEsmm.test.ts).
 */
import type { Batch } from '../data/batch.js';
import type { FieldGroup, Schema } from '../data/schema.js';
import type { Graph } from '../engine/graph.js';
import { Linear, MLP, ParamStore } from '../engine/nn.js';
import type { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import { buildEmbedders, type FeatureEmbedder, type TableRegistry } from './featureEmbedder.js';
import { bceHardLoss, type HardLoss, labelColumn } from './hardLoss.js';
import { logAddExp, logSigmoid } from './stableMath.js';
import type { Model, ModelOutput } from './types.js';

export interface MmoeEsmmOptions {
  name: string;
  embeddingDim: number;
  groups: FieldGroup[];
  fields?: string[];
  separateTables?: string[];
  /** Number of experts (default 2). */
  experts: number;
  /** Expert MLP widths (ReLU); the last is the expert output width. */
  expertHidden: number[];
  /** Tower hidden widths (ReLU) before each task's logit. */
  towerHidden: number[];
  dropout: number;
  /** Label of the CTR task (click). */
  ctrLabel: string;
  /** Label of the CTCVR task on the exposure space (click AND conversion / long engagement). */
  ctcvrLabel: string;
}

/** The two tasks that have a gate and a tower; ctcvr is their product, not a third tower. */
const TASKS = ['ctr', 'cvr'] as const;

/** logit(σ(a)·σ(b)), stable for all a, b (derivation in the file header). */
export function ctcvrLogit(g: Graph, a: Tensor, b: Tensor): Tensor {
  const logSa = logSigmoid(g, a);
  const logP = g.add(logSa, logSigmoid(g, b));
  const logSnegA = logSigmoid(g, g.scale(a, -1));
  const logSnegB = logSigmoid(g, g.scale(b, -1));
  const log1mP = logAddExp(g, logSnegA, g.add(logSa, logSnegB));
  return g.sub(logP, log1mP);
}

export class MmoeEsmm implements Model {
  readonly kind = 'mmoe-esmm';
  readonly name: string;
  readonly store = new ParamStore();
  readonly outputNames = ['ctr', 'cvr', 'ctcvr'];
  /** ESMM: CTR and CTCVR are supervised; CVR is not (it is learned through the product). */
  readonly supervised: Readonly<Record<string, string>>;
  readonly embedder: FeatureEmbedder;
  private readonly experts: MLP[] = [];
  private readonly gates: Linear[] = [];
  private readonly towers: MLP[] = [];
  private readonly opts: MmoeEsmmOptions;

  constructor(opts: MmoeEsmmOptions, schema: Schema, registry: TableRegistry, rng: Rng) {
    this.opts = opts;
    this.name = opts.name;
    this.supervised = { ctr: opts.ctrLabel, ctcvr: opts.ctcvrLabel };
    if (opts.experts < 1)
      throw new Error(`${opts.name} (mmoe-esmm): experts must be ≥ 1, got ${opts.experts}`);
    if (opts.expertHidden.length === 0)
      throw new Error(`${opts.name} (mmoe-esmm): expertHidden needs at least one width`);
    [this.embedder] = buildEmbedders(schema, registry, rng, opts, [
      { view: schema.view(opts.groups, `${opts.name} (mmoe-esmm)`), fields: opts.fields },
    ]);
    const D = this.embedder.outDim;
    const H = opts.expertHidden[opts.expertHidden.length - 1]!;
    for (let e = 0; e < opts.experts; e++) {
      const n = `${opts.name}.expert.${e}`;
      this.experts.push(
        new MLP(
          n,
          [D, ...opts.expertHidden],
          { activation: 'relu', finalActivation: 'relu', dropout: opts.dropout },
          rng.fork(n),
        ),
      );
    }
    for (const task of TASKS) {
      const gn = `${opts.name}.gate.${task}`;
      this.gates.push(new Linear(gn, D, opts.experts, rng.fork(gn)));
      const tn = `${opts.name}.tower.${task}`;
      this.towers.push(
        new MLP(tn, [H, ...opts.towerHidden, 1], { activation: 'relu', dropout: opts.dropout }, rng.fork(tn)),
      );
    }
    for (const t of this.embedder.distinctTables()) this.store.add(t);
    for (const m of [...this.experts, ...this.gates, ...this.towers]) this.store.add(m);
  }

  get fields(): string[] {
    return this.embedder.fieldNames;
  }

  forward(g: Graph, batch: Batch): ModelOutput {
    const B = batch.size;
    const hidden: Record<string, Tensor> = {};
    const x = this.embedder.forward(g, batch);
    const expertOut = this.experts.map((m, e) => {
      const h = m.forward(g, x);
      hidden[`expert.${e}`] = h;
      return h;
    });
    const logits: Record<string, Tensor> = {};
    TASKS.forEach((task, k) => {
      // MMoE eq. 5–6: a softmax gate per task mixes the shared experts.
      const gate = g.softmax(this.gates[k]!.forward(g, x));
      hidden[`gate.${task}`] = gate;
      let mixed: Tensor | null = null;
      for (let e = 0; e < expertOut.length; e++) {
        const w = expertOut.length === 1 ? gate : g.slice(gate, e, e + 1);
        const term = g.mul(expertOut[e]!, w);
        mixed = mixed === null ? term : g.add(mixed, term);
      }
      hidden[`mixed.${task}`] = mixed!;
      const { out, hidden: th } = this.towers[k]!.forwardWithHidden(g, mixed!);
      th.forEach((h, i) => {
        hidden[`tower.${task}.${i}`] = h;
      });
      logits[task] = g.reshape(out, [B]);
    });
    logits.ctcvr = ctcvrLogit(g, logits.ctr!, logits.cvr!);
    return { logits, hidden };
  }

  /**
   * ESMM eq. 3: BCE(ctr, y) + BCE(ctcvr, y·z). The CTCVR target is the product of the click label
   * and the ctcvr label, so a dataset whose conversion label is only meaningful after a click
   * (Ali-CCP) and one whose label already implies a click (the simulator's long_dwell) both work.
   */
  hardLoss(g: Graph, out: ModelOutput, batch: Batch, weights?: Float32Array): HardLoss {
    const click = labelColumn(batch, this.opts.ctrLabel, this.name);
    const conv = labelColumn(batch, this.opts.ctcvrLabel, this.name);
    const ctcvrTarget = new Float32Array(batch.size);
    for (let i = 0; i < batch.size; i++) ctcvrTarget[i] = click[i]! * conv[i]!;
    const ctr = bceHardLoss(g, out, batch, { ctr: this.opts.ctrLabel }, this.name, weights);
    const ctcvr = g.bceWithLogits(out.logits.ctcvr!, ctcvrTarget, weights);
    return { total: g.add(ctr.total, ctcvr), terms: { 'hard.ctr': ctr.total, 'hard.ctcvr': ctcvr } };
  }
}
