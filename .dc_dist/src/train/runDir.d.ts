export interface RunPaths {
    dir: string;
    config: string;
    metrics: string;
    final: string;
    checkpoints: string;
}
export declare function runPaths(dir: string): RunPaths;
/** `NAME-YYYYMMDD-HHMMSS` under `outDir`; a numeric suffix avoids clobbering a run from the same second. */
export declare function newRunDir(outDir: string, name: string, now?: Date): string;
/** Creates the folders and writes the config copy (and the source text, if given). */
export declare function initRunDir(dir: string, config: unknown, sourceText?: {
    text: string;
    ext: string;
}): RunPaths;
export declare function writeJsonAtomic(path: string, value: unknown): void;
export declare function appendMetrics(paths: RunPaths, record: object): void;
/** Reads metrics.jsonl; a malformed line is reported with its line number. */
export declare function readMetrics(paths: RunPaths): Record<string, unknown>[];
export declare function checkpointPath(paths: RunPaths, step: number): string;
/** All checkpoints of a run, oldest first. */
export declare function listCheckpoints(paths: RunPaths): {
    step: number;
    path: string;
}[];
export declare function latestCheckpoint(paths: RunPaths): {
    step: number;
    path: string;
} | null;
/** Reads a run's config.json (for `teacher score --run RUN`). */
export declare function readRunConfig(dir: string): unknown;
