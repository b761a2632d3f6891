import type { Command } from 'commander';
import { type RunOptions, type RunResult } from '../../train/run.js';
/** Progress and eval callbacks that draw a bar on stderr (or nothing with --quiet / no TTY). */
export declare function progressReporter(label: string, quiet: boolean): Pick<RunOptions, 'onProgress' | 'onEval' | 'log'> & {
    stop(): void;
};
/** One-line summary of a finished run, on stdout. */
export declare function printSummary(res: RunResult): void;
export declare function register(program: Command): void;
