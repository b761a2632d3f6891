import { z } from 'zod';
/** Model names the runner uses; other strategies (rank-based KD, ...) add their own names. */
export declare const KNOWN_MODEL_NAMES: readonly ['teacher', 'plain', 'popularity', 'logits-kd', 'dmtl', 'pfd', 'pfd-md'];
export declare const meanStdSchema: z.ZodObject<{
    mean: z.ZodNumber;
    std: z.ZodNumber;
}, z.core.$strip>;
/** A metric over seeds: mean, sample standard deviation (0 for one seed) and the per-seed values. */
export declare const metricSummarySchema: z.ZodObject<{
    mean: z.ZodNumber;
    std: z.ZodNumber;
    perSeed: z.ZodArray<z.ZodNumber>;
}, z.core.$strip>;
export declare const curvePointSchema: z.ZodObject<{
    step: z.ZodNumber;
    value: z.ZodNumber;
}, z.core.$strip>;
export declare const modelResultSchema: z.ZodObject<{
    name: z.ZodString;
    role: z.ZodEnum<{
        baseline: "baseline";
        student: "student";
        teacher: "teacher";
    }>;
    metrics: z.ZodRecord<z.ZodString, z.ZodObject<{
        mean: z.ZodNumber;
        std: z.ZodNumber;
        perSeed: z.ZodArray<z.ZodNumber>;
    }, z.core.$strip>>;
    params: z.ZodNumber;
    trainSeconds: z.ZodObject<{
        mean: z.ZodNumber;
        std: z.ZodNumber;
    }, z.core.$strip>;
    inferenceMsPer1k: z.ZodObject<{
        mean: z.ZodNumber;
        std: z.ZodNumber;
    }, z.core.$strip>;
    curves: z.ZodOptional<z.ZodRecord<z.ZodString, z.ZodArray<z.ZodObject<{
        step: z.ZodNumber;
        value: z.ZodNumber;
    }, z.core.$strip>>>>;
    overlapAtK: z.ZodOptional<z.ZodArray<z.ZodObject<{
        k: z.ZodNumber;
        overlap: z.ZodNumber;
    }, z.core.$strip>>>;
    flags: z.ZodOptional<z.ZodArray<z.ZodString>>;
}, z.core.$strip>;
export declare const resultsSchema: z.ZodObject<{
    kdrecVersion: z.ZodString;
    gitCommit: z.ZodString;
    createdAt: z.ZodString;
    dataset: z.ZodObject<{
        name: z.ZodString;
        fingerprint: z.ZodString;
    }, z.core.$strip>;
    config: z.ZodRecord<z.ZodString, z.ZodUnknown>;
    seeds: z.ZodArray<z.ZodNumber>;
    primaryMetric: z.ZodOptional<z.ZodString>;
    models: z.ZodArray<z.ZodObject<{
        name: z.ZodString;
        role: z.ZodEnum<{
            baseline: "baseline";
            student: "student";
            teacher: "teacher";
        }>;
        metrics: z.ZodRecord<z.ZodString, z.ZodObject<{
            mean: z.ZodNumber;
            std: z.ZodNumber;
            perSeed: z.ZodArray<z.ZodNumber>;
        }, z.core.$strip>>;
        params: z.ZodNumber;
        trainSeconds: z.ZodObject<{
            mean: z.ZodNumber;
            std: z.ZodNumber;
        }, z.core.$strip>;
        inferenceMsPer1k: z.ZodObject<{
            mean: z.ZodNumber;
            std: z.ZodNumber;
        }, z.core.$strip>;
        curves: z.ZodOptional<z.ZodRecord<z.ZodString, z.ZodArray<z.ZodObject<{
            step: z.ZodNumber;
            value: z.ZodNumber;
        }, z.core.$strip>>>>;
        overlapAtK: z.ZodOptional<z.ZodArray<z.ZodObject<{
            k: z.ZodNumber;
            overlap: z.ZodNumber;
        }, z.core.$strip>>>;
        flags: z.ZodOptional<z.ZodArray<z.ZodString>>;
    }, z.core.$strip>>;
}, z.core.$strip>;
export type MeanStd = z.infer<typeof meanStdSchema>;
export type MetricSummary = z.infer<typeof metricSummarySchema>;
export type CurvePoint = z.infer<typeof curvePointSchema>;
export type ModelResult = z.infer<typeof modelResultSchema>;
export type Results = z.infer<typeof resultsSchema>;
export type ModelRole = ModelResult['role'];
/** Mean, sample standard deviation (n − 1; 0 for a single seed) and the values themselves. */
export declare function summarize(perSeed: number[]): MetricSummary;
/**
 * Validates an already-parsed object; `source` (a file name) prefixes every error. Beyond the
 * schema: model names are unique, at most one teacher, every metric has one value per seed, and
 * the primary metric (if named) exists on some model.
 */
export declare function parseResults(value: unknown, source?: string): Results;
/** Reads and validates DIR/results.json (or any path). */
export declare function readResults(path: string): Results;
/** Validates and writes results atomically (temp file + rename), so a crash never leaves half a file. */
export declare function writeResults(path: string, results: Results): void;
