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
import { ParamStore } from '../engine/nn.js';
import type { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import { FeatureEmbedder, type TableRegistry } from './featureEmbedder.js';
import { type HardLoss } from './hardLoss.js';
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
/** logit(σ(a)·σ(b)), stable for all a, b (derivation in the file header). */
export declare function ctcvrLogit(g: Graph, a: Tensor, b: Tensor): Tensor;
export declare class MmoeEsmm implements Model {
    readonly kind = "mmoe-esmm";
    readonly name: string;
    readonly store: ParamStore;
    readonly outputNames: string[];
    /** ESMM: CTR and CTCVR are supervised; CVR is not (it is learned through the product). */
    readonly supervised: Readonly<Record<string, string>>;
    readonly embedder: FeatureEmbedder;
    private readonly experts;
    private readonly gates;
    private readonly towers;
    private readonly opts;
    constructor(opts: MmoeEsmmOptions, schema: Schema, registry: TableRegistry, rng: Rng);
    get fields(): string[];
    forward(g: Graph, batch: Batch): ModelOutput;
    /**
     * ESMM eq. 3: BCE(ctr, y) + BCE(ctcvr, y·z). The CTCVR target is the product of the click label
     * and the ctcvr label, so a dataset whose conversion label is only meaningful after a click
     * (Ali-CCP) and one whose label already implies a click (the simulator's long_dwell) both work.
     */
    hardLoss(g: Graph, out: ModelOutput, batch: Batch, weights?: Float32Array): HardLoss;
}
