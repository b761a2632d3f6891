import { World, type WorldParams } from './world.js';
export interface SimulationParams {
    days: number;
    /** Mean requests per user per day (each user's rate is scaled by a lognormal activity). */
    requestsPerUserDay: number;
    slateSize: number;
    candidatesPerRequest: number;
    /** Unix seconds of the start of day 0 (UTC midnight). */
    startTs: number;
    /** Std of the log of per-user activity. */
    activitySpread: number;
    /** Probability that a request starts a new session rather than continuing the current one. */
    newSessionProb: number;
    /** Mean gap between consecutive requests of a session, seconds. */
    meanRequestGapSeconds: number;
    policy: {
        /** Shares of the candidate pool from home categories and from recent clicks; the rest is popular items. */
        homeShare: number;
        recentShare: number;
        relevanceWeight: number;
        relevanceNoise: number;
        popularityWeight: number;
        /** Item sampling weight ∝ exp(popularityExponent · logPop). */
        popularityExponent: number;
    };
    /** Mean of the exponential excess of a long dwell over 50 s, and the range of a short one. */
    meanLongDwellExcessSeconds: number;
}
export interface SimulationCounts {
    requests: number;
    events: number;
    clicks: number;
    longDwells: number;
}
/** The content of DIR/world.json. */
export interface SimulationManifest {
    formatVersion: number;
    world: WorldParams;
    simulation: SimulationParams;
    counts: SimulationCounts;
    files: {
        users: string;
        items: string;
        events: string;
    };
}
export declare const SIMULATION_FORMAT_VERSION = 1;
/** The threshold of the long-engagement label, seconds (the reading-duration setting's 50 s). */
export declare const LONG_DWELL_SECONDS = 50;
export interface SimulateOptions {
    out: string;
    users: number;
    items: number;
    days: number;
    seed: number;
    requestsPerUserDay?: number;
    slateSize?: number;
    candidatesPerRequest?: number;
    format?: 'csv' | 'parquet';
    /** Called after each simulated day. */
    onProgress?: (day: number, days: number, counts: SimulationCounts) => void;
}
export interface SimulationResult extends SimulationCounts {
    manifest: SimulationManifest;
    /** Bytes written for the event table (CSV bytes, before any parquet conversion). */
    eventBytes: number;
    /** World generation, users/items tables, the event stream, and end to end (incl. parquet conversion). */
    seconds: {
        world: number;
        tables: number;
        events: number;
        total: number;
    };
}
/** The defaults of `kdrec simulate`: the small embedded world (builds in a few seconds). */
export declare const SIMULATE_DEFAULTS: {
    readonly users: 5000;
    readonly items: 10000;
    readonly days: 3;
    readonly seed: 42;
    readonly requestsPerUserDay: 3;
    readonly slateSize: 10;
    readonly candidatesPerRequest: 40;
};
export declare function defaultSimulationParams(o: Pick<SimulateOptions, 'days' | 'requestsPerUserDay' | 'slateSize' | 'candidatesPerRequest'>): SimulationParams;
/** Reads DIR/world.json, checking its format version. */
export declare function readSimulationManifest(dir: string): SimulationManifest;
/** Rebuilds the ground-truth World of a simulated dataset from DIR/world.json alone. */
export declare function loadWorld(dir: string): World;
/**
 * Simulates the world and writes DIR/{users,items,events}.{csv|parquet} and DIR/world.json.
 * Files are written under temporary names and renamed at the end, so an interrupted run never
 * leaves a complete-looking dataset.
 */
export declare function simulate(opts: SimulateOptions): Promise<SimulationResult>;
