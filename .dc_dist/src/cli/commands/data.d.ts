/**
 * `kdrec data inspect DIR | --dataset KIND:PATH`: loads a dataset through the same pipeline
 * training uses (split, train-fitted vocabularies, leak-free window features) and prints row
 * counts, label rates and per-group feature cardinalities with OOV counts (issue 3).
 */
import type { Command } from 'commander';
import type { SplitSpec } from '../../data/dataset.js';
/** `--split` values: `time[:TRAIN,VALID]`, `leave-last-out`, `given`. */
export declare function parseSplitOption(s: string): SplitSpec;
export declare function register(program: Command): void;
