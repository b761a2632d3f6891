/**
 * Dataset addressing shared by every command: `KIND:PATH`, e.g. `movielens-100k:../shared/data/movielens-100k`,
 * `ali-ccp:DIR_OR_CSV`, `kuairand:CSV`, `sim:DIR`. `parseDatasetSpec` is the only parser of that
 * syntax; `loadDataset` is the only entry from a spec to a `LoadedDataset`.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildDataset, DATASET_KINDS, } from '../dataset.js';
import { DuckDb } from '../readers.js';
import { prepareAliCcp } from './aliCcp.js';
import { prepareKuairand } from './kuairand.js';
import { prepareMovielens100k } from './movielens100k.js';
import { prepareSim } from './sim.js';
export function parseDatasetSpec(spec) {
    const s = spec.trim();
    const colon = s.indexOf(':');
    const kind = (colon < 0 ? s : s.slice(0, colon));
    const path = colon < 0 ? '' : s.slice(colon + 1);
    if (!DATASET_KINDS.includes(kind)) {
        throw new Error(`dataset '${spec}': unknown kind '${kind}'; expected KIND:PATH with KIND one of ${DATASET_KINDS.join(', ')}`);
    }
    if (!path) {
        if (kind === 'sim')
            return { kind, path: undefined };
        throw new Error(`dataset '${spec}': missing path; expected ${kind}:PATH`);
    }
    return { kind, path: resolve(path) };
}
export async function prepareSource(db, spec, opts = {}) {
    if (!spec.path)
        throw new Error(`dataset '${spec.kind}' needs a path (${spec.kind}:PATH)`);
    if (!existsSync(spec.path))
        throw new Error(`dataset ${spec.kind}:${spec.path}: no such file or directory`);
    switch (spec.kind) {
        case 'sim':
            return prepareSim(db, spec.path, opts);
        case 'movielens-100k':
            return prepareMovielens100k(db, spec.path, opts);
        case 'ali-ccp':
            return prepareAliCcp(db, spec.path, opts);
        case 'kuairand':
            return prepareKuairand(db, spec.path, opts);
    }
}
/** Reads, validates, splits and featurises a dataset. */
export async function loadDataset(spec, opts = {}) {
    const s = typeof spec === 'string' ? parseDatasetSpec(spec) : spec;
    const db = await DuckDb.open();
    try {
        const src = await prepareSource(db, s, opts);
        return await buildDataset(db, src, { ...opts, split: opts.split ?? src.defaultSplit });
    }
    finally {
        db.close();
    }
}
//# sourceMappingURL=index.js.map