/**
 * A small, plausible results object for the report tests: a teacher, a popularity baseline, the
 * plain student and four distilled students, three seeds, curves and overlap@K.
 */
import { summarize } from '../../src/eval/results.js';
const SPECS = [
    {
        name: 'teacher',
        role: 'teacher',
        auc: 0.781,
        ndcg: 0.312,
        clicks: 6.1,
        params: 2_400_000,
        ms: 4.8,
        overlap: 1,
    },
    { name: 'popularity', role: 'baseline', auc: 0.62, ndcg: 0.141, clicks: 3.2, params: 0, ms: 0 },
    {
        name: 'plain',
        role: 'baseline',
        auc: 0.742,
        ndcg: 0.251,
        clicks: 5.0,
        params: 310_000,
        ms: 0.41,
        overlap: 0.46,
    },
    {
        name: 'logits-kd',
        role: 'student',
        auc: 0.759,
        ndcg: 0.276,
        clicks: 5.4,
        params: 310_000,
        ms: 0.42,
        overlap: 0.58,
        kdTerm: true,
    },
    {
        name: 'dmtl',
        role: 'student',
        auc: 0.761,
        ndcg: 0.281,
        clicks: 5.5,
        params: 330_000,
        ms: 0.44,
        overlap: 0.6,
        kdTerm: true,
    },
    {
        name: 'pfd',
        role: 'student',
        auc: 0.767,
        ndcg: 0.29,
        clicks: 5.7,
        params: 310_000,
        ms: 0.41,
        overlap: 0.64,
        kdTerm: true,
    },
    {
        name: 'pfd-md',
        role: 'student',
        auc: 0.77,
        ndcg: 0.295,
        clicks: 5.8,
        params: 310_000,
        ms: 0.43,
        overlap: 0.67,
        kdTerm: true,
    },
];
export const SYNTHETIC_MODEL_NAMES = SPECS.map((s) => s.name);
export function syntheticResults() {
    const seeds = [1, 2, 3];
    const jitter = [-0.003, 0.001, 0.002];
    const models = SPECS.map((s) => {
        const m = {
            name: s.name,
            role: s.role,
            metrics: {
                'NDCG@50': summarize(jitter.map((j) => s.ndcg + j)),
                AUC: summarize(jitter.map((j) => s.auc + j)),
                LogLoss: summarize(jitter.map((j) => 0.52 - (s.auc - 0.6) / 2 + j)),
                'trueClicks@50': summarize(jitter.map((j) => s.clicks + 10 * j)),
            },
            params: s.params,
            trainSeconds: s.params > 0 ? { mean: s.params / 20_000, std: 0.4 } : { mean: 0.8, std: 0.05 },
            inferenceMsPer1k: { mean: s.ms, std: s.ms / 20 },
        };
        if (s.overlap !== undefined) {
            m.overlapAtK = [10, 20, 50, 100, 200].map((k, i) => ({
                k,
                overlap: Math.min(1, s.overlap + i * 0.04 * (1 - s.overlap)),
            }));
        }
        if (s.params > 0) {
            const steps = Array.from({ length: 20 }, (_, i) => i * 50);
            // Better models end lower; distilled students converge faster on the KD term.
            const floor = 0.9 - s.auc;
            m.curves = { hard: steps.map((step) => ({ step, value: 0.5 * Math.exp(-step / 250) + floor })) };
            if (s.kdTerm)
                m.curves['kd'] = steps.map((step) => ({
                    step,
                    value: 0.4 * Math.exp(-step / (150 + 1000 * (0.78 - s.auc))) + floor / 2,
                }));
        }
        return m;
    });
    models[4].flags = ['seed 2: learning rate halved after a loss spike'];
    return {
        kdrecVersion: '0.1.0',
        gitCommit: '0123456789abcdef0123456789abcdef01234567',
        createdAt: '2026-11-27T22:00:00.000Z',
        dataset: { name: 'sim', fingerprint: 'sim:users=2000,items=5000,seed=1' },
        config: { students: ['plain', 'logits-kd', 'dmtl', 'pfd', 'pfd-md'], epochs: 3 },
        seeds,
        primaryMetric: 'NDCG@50',
        models,
    };
}
//# sourceMappingURL=syntheticResults.js.map