export declare function tempDir(prefix: string): string;
export interface SimEvent {
    ts: number;
    request: number;
    user: number;
    item: number;
    click: number;
    dwell: number;
}
export declare const SIM_ITEMS: readonly [readonly [0, 0, 0], readonly [1, 0, 1], readonly [2, 1, 2], readonly [3, 1, 2], readonly [4, 2, 3], readonly [5, 2, 4]];
/**
 * A tiny simulator-format directory: 4 users, 6 items, `n` events with many same-second ties and
 * clicks on ~40% of rows. Item 5 is exposed only in the last 10% of events (so it is OOV for a
 * train-fitted vocab).
 */
export declare function writeSimFixture(dir: string, n?: number, seed?: number, eventsText?: string): SimEvent[];
/** A tiny MovieLens-100K directory (u.item has a Latin-1 byte; u.genre ends with an empty line). */
export declare function writeMovielensFixture(dir: string): void;
