import { z } from 'zod';
export declare const MODES: readonly ['teacher', 'student', 'joint', 'two-stage', 'dmtl', 'pfd', 'pfd-md'];
export type Mode = (typeof MODES)[number];
/**
 * A model spec is the models folder's own schema (src/models/index.ts), so a bad model option is
 * reported with its config path like any other (`student.userHidden[0] must be > 0`). The trainer
 * sets each model's `name` (teacher / student), which prefixes its parameters in checkpoints.
 */
declare const modelSpec: z.ZodDiscriminatedUnion<[z.ZodObject<{
    name: z.ZodDefault<z.ZodString>;
    embeddingDim: z.ZodDefault<z.ZodInt>;
    fields: z.ZodOptional<z.ZodArray<z.ZodString>>;
    separateTables: z.ZodDefault<z.ZodArray<z.ZodString>>;
    dropout: z.ZodDefault<z.ZodNumber>;
    output: z.ZodDefault<z.ZodString>;
    label: z.ZodOptional<z.ZodString>;
    type: z.ZodLiteral<"ranking-dnn">;
    groups: z.ZodDefault<z.ZodArray<z.ZodEnum<{
        context: "context";
        item: "item";
        privileged: "privileged";
        user: "user";
    }>>>;
    crossLayers: z.ZodDefault<z.ZodInt>;
    crossRank: z.ZodDefault<z.ZodInt>;
    structure: z.ZodDefault<z.ZodEnum<{
        parallel: "parallel";
        stacked: "stacked";
    }>>;
    hidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
}, z.core.$strict>, z.ZodObject<{
    name: z.ZodDefault<z.ZodString>;
    embeddingDim: z.ZodDefault<z.ZodInt>;
    fields: z.ZodOptional<z.ZodArray<z.ZodString>>;
    separateTables: z.ZodDefault<z.ZodArray<z.ZodString>>;
    dropout: z.ZodDefault<z.ZodNumber>;
    type: z.ZodLiteral<"mmoe-esmm">;
    groups: z.ZodDefault<z.ZodArray<z.ZodEnum<{
        context: "context";
        item: "item";
        privileged: "privileged";
        user: "user";
    }>>>;
    experts: z.ZodDefault<z.ZodInt>;
    expertHidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
    towerHidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
    ctrLabel: z.ZodOptional<z.ZodString>;
    ctcvrLabel: z.ZodOptional<z.ZodString>;
}, z.core.$strict>, z.ZodObject<{
    name: z.ZodDefault<z.ZodString>;
    embeddingDim: z.ZodDefault<z.ZodInt>;
    fields: z.ZodOptional<z.ZodArray<z.ZodString>>;
    separateTables: z.ZodDefault<z.ZodArray<z.ZodString>>;
    dropout: z.ZodDefault<z.ZodNumber>;
    output: z.ZodDefault<z.ZodString>;
    label: z.ZodOptional<z.ZodString>;
    type: z.ZodLiteral<"two-tower">;
    userFields: z.ZodOptional<z.ZodArray<z.ZodString>>;
    itemFields: z.ZodOptional<z.ZodArray<z.ZodString>>;
    userHidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
    itemHidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
    scoreFn: z.ZodDefault<z.ZodEnum<{
        cosine: "cosine";
        dot: "dot";
    }>>;
    temperature: z.ZodOptional<z.ZodNumber>;
}, z.core.$strict>, z.ZodObject<{
    name: z.ZodDefault<z.ZodString>;
    embeddingDim: z.ZodDefault<z.ZodInt>;
    fields: z.ZodOptional<z.ZodArray<z.ZodString>>;
    separateTables: z.ZodDefault<z.ZodArray<z.ZodString>>;
    dropout: z.ZodDefault<z.ZodNumber>;
    output: z.ZodDefault<z.ZodString>;
    label: z.ZodOptional<z.ZodString>;
    type: z.ZodLiteral<"fm">;
    userFields: z.ZodOptional<z.ZodArray<z.ZodString>>;
    itemFields: z.ZodOptional<z.ZodArray<z.ZodString>>;
}, z.core.$strict>, z.ZodObject<{
    name: z.ZodDefault<z.ZodString>;
    embeddingDim: z.ZodDefault<z.ZodInt>;
    fields: z.ZodOptional<z.ZodArray<z.ZodString>>;
    separateTables: z.ZodDefault<z.ZodArray<z.ZodString>>;
    dropout: z.ZodDefault<z.ZodNumber>;
    output: z.ZodDefault<z.ZodString>;
    label: z.ZodOptional<z.ZodString>;
    type: z.ZodLiteral<"prerank-mlp">;
    groups: z.ZodDefault<z.ZodArray<z.ZodEnum<{
        context: "context";
        item: "item";
        privileged: "privileged";
        user: "user";
    }>>>;
    crossDim: z.ZodDefault<z.ZodInt>;
    hidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
}, z.core.$strict>], "type">;
export declare const configSchema: z.ZodObject<{
    name: z.ZodDefault<z.ZodString>;
    seed: z.ZodDefault<z.ZodInt>;
    threads: z.ZodDefault<z.ZodInt>;
    dataset: z.ZodObject<{
        spec: z.ZodString;
        simulate: z.ZodOptional<z.ZodObject<{
            users: z.ZodOptional<z.ZodInt>;
            items: z.ZodOptional<z.ZodInt>;
            days: z.ZodOptional<z.ZodInt>;
            seed: z.ZodOptional<z.ZodInt>;
        }, z.core.$strict>>;
        studentSamples: z.ZodDefault<z.ZodEnum<{
            exposure: "exposure";
            recall: "recall";
        }>>;
        negatives: z.ZodDefault<z.ZodInt>;
        negativeSampler: z.ZodDefault<z.ZodEnum<{
            popularity: "popularity";
            uniform: "uniform";
        }>>;
        teacherScores: z.ZodOptional<z.ZodString>;
        fields: z.ZodOptional<z.ZodArray<z.ZodString>>;
        maxTrainRows: z.ZodOptional<z.ZodInt>;
        maxValidRows: z.ZodOptional<z.ZodInt>;
    }, z.core.$strict>;
    mode: z.ZodEnum<{
        dmtl: "dmtl";
        joint: "joint";
        pfd: "pfd";
        "pfd-md": "pfd-md";
        student: "student";
        teacher: "teacher";
        "two-stage": "two-stage";
    }>;
    teacher: z.ZodOptional<z.ZodDiscriminatedUnion<[z.ZodObject<{
        name: z.ZodDefault<z.ZodString>;
        embeddingDim: z.ZodDefault<z.ZodInt>;
        fields: z.ZodOptional<z.ZodArray<z.ZodString>>;
        separateTables: z.ZodDefault<z.ZodArray<z.ZodString>>;
        dropout: z.ZodDefault<z.ZodNumber>;
        output: z.ZodDefault<z.ZodString>;
        label: z.ZodOptional<z.ZodString>;
        type: z.ZodLiteral<"ranking-dnn">;
        groups: z.ZodDefault<z.ZodArray<z.ZodEnum<{
            context: "context";
            item: "item";
            privileged: "privileged";
            user: "user";
        }>>>;
        crossLayers: z.ZodDefault<z.ZodInt>;
        crossRank: z.ZodDefault<z.ZodInt>;
        structure: z.ZodDefault<z.ZodEnum<{
            parallel: "parallel";
            stacked: "stacked";
        }>>;
        hidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
    }, z.core.$strict>, z.ZodObject<{
        name: z.ZodDefault<z.ZodString>;
        embeddingDim: z.ZodDefault<z.ZodInt>;
        fields: z.ZodOptional<z.ZodArray<z.ZodString>>;
        separateTables: z.ZodDefault<z.ZodArray<z.ZodString>>;
        dropout: z.ZodDefault<z.ZodNumber>;
        type: z.ZodLiteral<"mmoe-esmm">;
        groups: z.ZodDefault<z.ZodArray<z.ZodEnum<{
            context: "context";
            item: "item";
            privileged: "privileged";
            user: "user";
        }>>>;
        experts: z.ZodDefault<z.ZodInt>;
        expertHidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
        towerHidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
        ctrLabel: z.ZodOptional<z.ZodString>;
        ctcvrLabel: z.ZodOptional<z.ZodString>;
    }, z.core.$strict>, z.ZodObject<{
        name: z.ZodDefault<z.ZodString>;
        embeddingDim: z.ZodDefault<z.ZodInt>;
        fields: z.ZodOptional<z.ZodArray<z.ZodString>>;
        separateTables: z.ZodDefault<z.ZodArray<z.ZodString>>;
        dropout: z.ZodDefault<z.ZodNumber>;
        output: z.ZodDefault<z.ZodString>;
        label: z.ZodOptional<z.ZodString>;
        type: z.ZodLiteral<"two-tower">;
        userFields: z.ZodOptional<z.ZodArray<z.ZodString>>;
        itemFields: z.ZodOptional<z.ZodArray<z.ZodString>>;
        userHidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
        itemHidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
        scoreFn: z.ZodDefault<z.ZodEnum<{
            cosine: "cosine";
            dot: "dot";
        }>>;
        temperature: z.ZodOptional<z.ZodNumber>;
    }, z.core.$strict>, z.ZodObject<{
        name: z.ZodDefault<z.ZodString>;
        embeddingDim: z.ZodDefault<z.ZodInt>;
        fields: z.ZodOptional<z.ZodArray<z.ZodString>>;
        separateTables: z.ZodDefault<z.ZodArray<z.ZodString>>;
        dropout: z.ZodDefault<z.ZodNumber>;
        output: z.ZodDefault<z.ZodString>;
        label: z.ZodOptional<z.ZodString>;
        type: z.ZodLiteral<"fm">;
        userFields: z.ZodOptional<z.ZodArray<z.ZodString>>;
        itemFields: z.ZodOptional<z.ZodArray<z.ZodString>>;
    }, z.core.$strict>, z.ZodObject<{
        name: z.ZodDefault<z.ZodString>;
        embeddingDim: z.ZodDefault<z.ZodInt>;
        fields: z.ZodOptional<z.ZodArray<z.ZodString>>;
        separateTables: z.ZodDefault<z.ZodArray<z.ZodString>>;
        dropout: z.ZodDefault<z.ZodNumber>;
        output: z.ZodDefault<z.ZodString>;
        label: z.ZodOptional<z.ZodString>;
        type: z.ZodLiteral<"prerank-mlp">;
        groups: z.ZodDefault<z.ZodArray<z.ZodEnum<{
            context: "context";
            item: "item";
            privileged: "privileged";
            user: "user";
        }>>>;
        crossDim: z.ZodDefault<z.ZodInt>;
        hidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
    }, z.core.$strict>], "type">>;
    student: z.ZodOptional<z.ZodDiscriminatedUnion<[z.ZodObject<{
        name: z.ZodDefault<z.ZodString>;
        embeddingDim: z.ZodDefault<z.ZodInt>;
        fields: z.ZodOptional<z.ZodArray<z.ZodString>>;
        separateTables: z.ZodDefault<z.ZodArray<z.ZodString>>;
        dropout: z.ZodDefault<z.ZodNumber>;
        output: z.ZodDefault<z.ZodString>;
        label: z.ZodOptional<z.ZodString>;
        type: z.ZodLiteral<"ranking-dnn">;
        groups: z.ZodDefault<z.ZodArray<z.ZodEnum<{
            context: "context";
            item: "item";
            privileged: "privileged";
            user: "user";
        }>>>;
        crossLayers: z.ZodDefault<z.ZodInt>;
        crossRank: z.ZodDefault<z.ZodInt>;
        structure: z.ZodDefault<z.ZodEnum<{
            parallel: "parallel";
            stacked: "stacked";
        }>>;
        hidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
    }, z.core.$strict>, z.ZodObject<{
        name: z.ZodDefault<z.ZodString>;
        embeddingDim: z.ZodDefault<z.ZodInt>;
        fields: z.ZodOptional<z.ZodArray<z.ZodString>>;
        separateTables: z.ZodDefault<z.ZodArray<z.ZodString>>;
        dropout: z.ZodDefault<z.ZodNumber>;
        type: z.ZodLiteral<"mmoe-esmm">;
        groups: z.ZodDefault<z.ZodArray<z.ZodEnum<{
            context: "context";
            item: "item";
            privileged: "privileged";
            user: "user";
        }>>>;
        experts: z.ZodDefault<z.ZodInt>;
        expertHidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
        towerHidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
        ctrLabel: z.ZodOptional<z.ZodString>;
        ctcvrLabel: z.ZodOptional<z.ZodString>;
    }, z.core.$strict>, z.ZodObject<{
        name: z.ZodDefault<z.ZodString>;
        embeddingDim: z.ZodDefault<z.ZodInt>;
        fields: z.ZodOptional<z.ZodArray<z.ZodString>>;
        separateTables: z.ZodDefault<z.ZodArray<z.ZodString>>;
        dropout: z.ZodDefault<z.ZodNumber>;
        output: z.ZodDefault<z.ZodString>;
        label: z.ZodOptional<z.ZodString>;
        type: z.ZodLiteral<"two-tower">;
        userFields: z.ZodOptional<z.ZodArray<z.ZodString>>;
        itemFields: z.ZodOptional<z.ZodArray<z.ZodString>>;
        userHidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
        itemHidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
        scoreFn: z.ZodDefault<z.ZodEnum<{
            cosine: "cosine";
            dot: "dot";
        }>>;
        temperature: z.ZodOptional<z.ZodNumber>;
    }, z.core.$strict>, z.ZodObject<{
        name: z.ZodDefault<z.ZodString>;
        embeddingDim: z.ZodDefault<z.ZodInt>;
        fields: z.ZodOptional<z.ZodArray<z.ZodString>>;
        separateTables: z.ZodDefault<z.ZodArray<z.ZodString>>;
        dropout: z.ZodDefault<z.ZodNumber>;
        output: z.ZodDefault<z.ZodString>;
        label: z.ZodOptional<z.ZodString>;
        type: z.ZodLiteral<"fm">;
        userFields: z.ZodOptional<z.ZodArray<z.ZodString>>;
        itemFields: z.ZodOptional<z.ZodArray<z.ZodString>>;
    }, z.core.$strict>, z.ZodObject<{
        name: z.ZodDefault<z.ZodString>;
        embeddingDim: z.ZodDefault<z.ZodInt>;
        fields: z.ZodOptional<z.ZodArray<z.ZodString>>;
        separateTables: z.ZodDefault<z.ZodArray<z.ZodString>>;
        dropout: z.ZodDefault<z.ZodNumber>;
        output: z.ZodDefault<z.ZodString>;
        label: z.ZodOptional<z.ZodString>;
        type: z.ZodLiteral<"prerank-mlp">;
        groups: z.ZodDefault<z.ZodArray<z.ZodEnum<{
            context: "context";
            item: "item";
            privileged: "privileged";
            user: "user";
        }>>>;
        crossDim: z.ZodDefault<z.ZodInt>;
        hidden: z.ZodDefault<z.ZodArray<z.ZodInt>>;
    }, z.core.$strict>], "type">>;
    distill: z.ZodDefault<z.ZodArray<z.ZodObject<{
        pred: z.ZodString;
        target: z.ZodString;
        loss: z.ZodEnum<{
            bce_soft: "bce_soft";
            kl: "kl";
            mse: "mse";
        }>;
        weight: z.ZodDefault<z.ZodNumber>;
        temperature: z.ZodDefault<z.ZodNumber>;
        t2Scale: z.ZodOptional<z.ZodBoolean>;
        sampleWeight: z.ZodOptional<z.ZodString>;
    }, z.core.$strict>>>;
    hint: z.ZodOptional<z.ZodObject<{
        student: z.ZodString;
        teacher: z.ZodString;
        weight: z.ZodDefault<z.ZodNumber>;
    }, z.core.$strict>>;
    lambda: z.ZodDefault<z.ZodDiscriminatedUnion<[z.ZodObject<{
        kind: z.ZodLiteral<"constant">;
        value: z.ZodNumber;
    }, z.core.$strict>, z.ZodObject<{
        kind: z.ZodLiteral<"step">;
        value: z.ZodNumber;
        startStep: z.ZodInt;
    }, z.core.$strict>, z.ZodObject<{
        kind: z.ZodLiteral<"linear">;
        value: z.ZodNumber;
        startStep: z.ZodInt;
        endStep: z.ZodInt;
    }, z.core.$strict>], "kind">>;
    objective: z.ZodDefault<z.ZodEnum<{
        convex: "convex";
        hard_plus_kd: "hard_plus_kd";
    }>>;
    separateStudentUserId: z.ZodDefault<z.ZodBoolean>;
    optimizer: z.ZodDefault<z.ZodObject<{
        dense: z.ZodDefault<z.ZodEnum<{
            adagrad: "adagrad";
            adam: "adam";
            adamw: "adamw";
        }>>;
        lr: z.ZodDefault<z.ZodNumber>;
        weightDecay: z.ZodDefault<z.ZodNumber>;
        sparse: z.ZodDefault<z.ZodEnum<{
            sparse_adagrad: "sparse_adagrad";
            sparse_adam: "sparse_adam";
        }>>;
        sparseLr: z.ZodOptional<z.ZodNumber>;
        clipNorm: z.ZodDefault<z.ZodNumber>;
    }, z.core.$strict>>;
    batchSize: z.ZodDefault<z.ZodInt>;
    steps: z.ZodOptional<z.ZodInt>;
    epochs: z.ZodOptional<z.ZodNumber>;
    evalEvery: z.ZodDefault<z.ZodInt>;
    checkpointEvery: z.ZodDefault<z.ZodInt>;
    selection: z.ZodDefault<z.ZodObject<{
        metric: z.ZodDefault<z.ZodEnum<{
            auc: "auc";
            loss: "loss";
        }>>;
        allowBeforeWarmup: z.ZodDefault<z.ZodBoolean>;
    }, z.core.$strict>>;
    outDir: z.ZodDefault<z.ZodString>;
}, z.core.$strict>;
export type ExperimentConfig = z.output<typeof configSchema>;
export type ModelSpec = z.output<typeof modelSpec>;
/** `['distill', 1, 'temperature']` → `distill[1].temperature`. */
export declare function formatPath(path: readonly PropertyKey[]): string;
export declare class ConfigError extends Error {
    readonly file: string;
    readonly problems: string[];
    constructor(file: string, problems: string[]);
}
/** Validates a parsed config object; throws ConfigError listing every problem with its path. */
export declare function parseConfig(raw: unknown, file?: string): ExperimentConfig;
/** Reads a `.yaml`/`.yml`/`.json` config file and validates it. */
export declare function loadConfig(file: string): ExperimentConfig;
export {};
