/**
 * A tiny synthetic world for model tests: a fitted schema covering every field kind and group, and
 * batches whose click label follows a known user·item affinity (so a model that learns must lower
 * its loss) plus a privileged numeric that is informative, as in the simulator.
 */
import type { Batch } from '../../src/data/batch.js';
import { Schema } from '../../src/data/schema.js';
import { Rng } from '../../src/engine/rng.js';
export declare const N_USERS = 40;
export declare const N_ITEMS = 60;
export declare const TINY_DECL: {
    fields: ({
        name: string;
        kind: string;
        group: string;
        poolFrom?: undefined;
        maxLen?: undefined;
        pooling?: undefined;
    } | {
        name: string;
        kind: string;
        group: string;
        maxLen: number;
        pooling: string;
        poolFrom: string;
    } | {
        poolFrom?: undefined;
        name: string;
        kind: string;
        group: string;
        maxLen: number;
        pooling: string;
    } | {
        poolFrom?: undefined;
        group?: undefined;
        maxLen?: undefined;
        pooling?: undefined;
        name: string;
        kind: string;
    })[];
};
export declare function tinySchema(): Schema;
export interface TinyWorld {
    userVec: Float64Array;
    itemVec: Float64Array;
    itemCat: Int32Array;
}
export declare function tinyWorld(seed?: number): TinyWorld;
/** True click logit of (user, item, privileged value). */
export declare function trueLogit(w: TinyWorld, u: number, i: number, priv: number): number;
/** A random batch with labels drawn from the world (all ids in range, list fields −1 padded). */
export declare function tinyBatch(w: TinyWorld, rng: Rng, B: number): Batch;
/** AUC by pairwise counting (ties count half); the eval helper owns the real one. */
export declare function pairwiseAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number;
