/**
 * A small, plausible results object for the report tests: a teacher, a popularity baseline, the
 * plain student and four distilled students, three seeds, curves and overlap@K.
 */
import { type Results } from '../../src/eval/results.js';
export declare const SYNTHETIC_MODEL_NAMES: string[];
export declare function syntheticResults(): Results;
