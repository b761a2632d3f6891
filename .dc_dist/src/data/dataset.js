/**
 * From prepared DuckDB tables to a `LoadedDataset`: the one pipeline every loader ends in.
 *
 * Order of operations is what keeps it leak-free:
 *   1. events are ordered by time and split (global time fractions, or per-user leave-last-out)
 *      BEFORE anything is fitted;
 *   2. vocabularies and numeric statistics are fitted on the train split only;
 *   3. privileged window counts are computed per row from events strictly before that row's time
 *      (./windowFeatures.ts), whatever split the row is in.
 * Each split is a `ColumnarDataset` of exposure samples; `items` is the whole item catalogue
 * (row i = itemKey i) for negative sampling and full-corpus retrieval.
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { hashBucket, Vocab } from '../engine/vocab.js';
import { ColumnarDataset, sliceColumns } from './batch.js';
import { sqlId, sqlStr } from './readers.js';
import { normalizeInPlace, Schema, } from './schema.js';
import { BoundWindowFeature, DEFAULT_WINDOW_SECONDS, WindowCounter, } from './windowFeatures.js';
export const DATASET_KINDS = ['sim', 'movielens-100k', 'ali-ccp', 'kuairand'];
export const DEFAULT_SPLIT = { kind: 'time', train: 0.8, valid: 0.1 };
export const SPLIT_NAMES = ['train', 'valid', 'test'];
export async function fingerprintFiles(paths) {
    const files = [];
    for (const path of [...paths].sort()) {
        const h = createHash('sha256');
        await new Promise((resolve, reject) => {
            createReadStream(path)
                .on('data', (d) => h.update(d))
                .on('end', () => resolve())
                .on('error', reject);
        });
        files.push({ path, bytes: statSync(path).size, sha256: h.digest('hex') });
    }
    const all = createHash('sha256');
    for (const f of files)
        all.update(f.sha256);
    return { files, sha256: all.digest('hex') };
}
function checkSplit(s) {
    if (s.kind !== 'time')
        return;
    if (!(s.train > 0 && s.valid >= 0 && s.train + s.valid < 1)) {
        throw new Error(`time split fractions must satisfy train > 0, valid >= 0, train + valid < 1; got train ${s.train}, valid ${s.valid}`);
    }
}
/** Column source names per field, resolved to the table that holds them. */
function findSource(f, tables) {
    for (const t of tables)
        if (t.cols.includes(f.source))
            return t.name;
    const all = tables
        .map((t) => `${t.name}: ${t.cols.filter((c) => !c.startsWith('_')).join(', ')}`)
        .join('; ');
    throw new Error(`field '${f.name}' reads column '${f.source}', which no input table has (${all})`);
}
export async function buildDataset(db, src, opts = {}) {
    const baseSchema = new Schema(src.schemaDecl, null, `${src.kind} schema`);
    const splitSpec = opts.split ?? DEFAULT_SPLIT;
    checkSplit(splitSpec);
    const sep = src.listSeparator ?? '|';
    const evCols = await db.columnNames(src.events);
    const itemCols = src.items ? await db.columnNames(src.items) : [];
    const userCols = src.users ? await db.columnNames(src.users) : [];
    if (splitSpec.kind === 'given' && !evCols.includes('_given_split')) {
        throw new Error(`${src.kind}: this dataset defines no split of its own; use a time or leave-last-out split`);
    }
    // Unknown ids in events are an error (a join would silently drop the rows).
    for (const [tab, key, cols] of [
        [src.items, '_item', itemCols],
        [src.users, '_user', userCols],
    ]) {
        if (!tab || !cols.length)
            continue;
        const bad = await db.rows(`SELECT e._line, e.${key} FROM ${sqlId(src.events)} e ANTI JOIN ${sqlId(tab)} t USING (${key}) ORDER BY e._line LIMIT 3`);
        if (bad.length) {
            const n = await db.scalar(`SELECT count(*) FROM ${sqlId(src.events)} e ANTI JOIN ${sqlId(tab)} t USING (${key})`);
            throw new Error(`${src.kind}: ${n} event(s) reference a ${key.slice(1)} missing from the ${key.slice(1)}s table, e.g. line ${String(bad[0][0])}: '${String(bad[0][1])}'`);
        }
    }
    // 1. Join, order by time, split.
    const joinItems = src.items
        ? `LEFT JOIN (SELECT * EXCLUDE (_line) FROM ${sqlId(src.items)}) i USING (_item)`
        : '';
    const joinUsers = src.users
        ? `LEFT JOIN (SELECT * EXCLUDE (_line) FROM ${sqlId(src.users)}) u USING (_user)`
        : '';
    await db.run(`CREATE OR REPLACE TEMP TABLE _ev0 AS SELECT * FROM ${sqlId(src.events)} e ${joinItems} ${joinUsers} ORDER BY e._ts, e._line`);
    // A table created from an ORDER BY keeps that order (insertion order), so rowid is the time rank.
    await db.run('CREATE OR REPLACE TEMP TABLE _ev AS SELECT rowid::BIGINT AS _row, * FROM _ev0; DROP TABLE _ev0');
    const n = await db.scalar('SELECT count(*) FROM _ev');
    if (n === 0)
        throw new Error(`${src.kind}: no events to load`);
    let splitSql;
    let splitJoin = '';
    if (splitSpec.kind === 'time') {
        const nTrain = Math.floor(n * splitSpec.train);
        const nValid = Math.floor(n * (splitSpec.train + splitSpec.valid)) - nTrain;
        splitSql = `CASE WHEN e._row < ${nTrain} THEN 0 WHEN e._row < ${nTrain + nValid} THEN 1 ELSE 2 END`;
    }
    else if (splitSpec.kind === 'leave-last-out') {
        await db.run('CREATE OR REPLACE TEMP TABLE _llo AS SELECT _row, row_number() OVER (PARTITION BY _user ORDER BY _ts DESC, _line DESC) AS k, ' +
            'count(*) OVER (PARTITION BY _user) AS cnt FROM _ev');
        splitSql = 'CASE WHEN l.cnt >= 3 AND l.k = 1 THEN 2 WHEN l.cnt >= 3 AND l.k = 2 THEN 1 ELSE 0 END';
        splitJoin = 'JOIN _llo l USING (_row)';
    }
    else {
        splitSql = 'e._given_split';
    }
    await db.run(`CREATE OR REPLACE TEMP TABLE _evs AS SELECT ${splitSql}::INTEGER AS _split, e.* FROM _ev e ${splitJoin}${splitJoin ? ' ORDER BY e._row' : ''}`);
    await db.run('DROP TABLE _ev; DROP TABLE IF EXISTS _llo');
    const split = new Uint8Array(n);
    const splitF = new Float32Array(n);
    await db.fetchColumns('SELECT _split FROM _evs ORDER BY _row', [{ kind: 'number', out: splitF }]);
    for (let i = 0; i < n; i++)
        split[i] = splitF[i];
    // Catalogue: the items table, or distinct items of the events with their item-group columns.
    const itemFields = baseSchema.features.filter((f) => f.group === 'item');
    let catalog = src.items;
    if (!catalog) {
        const cols = itemFields
            .filter((f) => evCols.includes(f.source))
            .map((f) => `any_value(${sqlId(f.source)}) AS ${sqlId(f.source)}`);
        await db.run(`CREATE OR REPLACE TEMP TABLE _items AS SELECT _item${cols.length ? `, ${cols.join(', ')}` : ''}, min(_line) AS _line FROM _evs GROUP BY _item`);
        catalog = '_items';
    }
    const nItems = await db.scalar(`SELECT count(*) FROM ${sqlId(catalog)}`);
    // 2. Keys: identities, not features.
    const itemIds = [];
    const itemIndex = new Map();
    await db.fetchColumns(`SELECT _item FROM ${sqlId(catalog)} ORDER BY _line, _item`, [
        {
            kind: 'string',
            onString: (_r, v) => {
                const id = v ?? '';
                if (!itemIndex.has(id)) {
                    itemIndex.set(id, itemIds.length);
                    itemIds.push(id);
                }
            },
        },
    ]);
    const userIds = [];
    const userIndex = new Map();
    const addUser = (id) => {
        let k = userIndex.get(id);
        if (k === undefined) {
            k = userIds.length;
            userIndex.set(id, k);
            userIds.push(id);
        }
        return k;
    };
    if (src.users) {
        await db.fetchColumns(`SELECT _user FROM ${sqlId(src.users)} ORDER BY _line`, [
            { kind: 'string', onString: (_r, v) => addUser(v ?? '') },
        ]);
    }
    const userKey = new Int32Array(n);
    const itemKey = new Int32Array(n);
    const ts = new Float64Array(n);
    const hasRequest = evCols.includes('_request');
    const requestId = hasRequest ? new Int32Array(n) : undefined;
    const reqIndex = new Map();
    await db.fetchColumns(`SELECT _ts, _user, _item${hasRequest ? ', _request' : ''} FROM _evs ORDER BY _row`, [
        { kind: 'number', out: ts },
        { kind: 'string', onString: (r, v) => (userKey[r] = addUser(v ?? '')) },
        {
            kind: 'string',
            onString: (r, v) => {
                const k = itemIndex.get(v ?? '');
                if (k === undefined)
                    throw new Error(`${src.kind}: event row ${r}: item '${v}' is not in the item catalogue`);
                itemKey[r] = k;
            },
        },
        ...(requestId
            ? [
                {
                    kind: 'string',
                    onString: (r, v) => {
                        const key = v ?? `#${r}`;
                        let q = reqIndex.get(key);
                        if (q === undefined) {
                            q = reqIndex.size;
                            reqIndex.set(key, q);
                        }
                        requestId[r] = q;
                    },
                },
            ]
            : []),
    ]);
    // 3. Vocabularies per table, from train rows of every field reading that table.
    const tables = [{ name: '_evs', cols: await db.columnNames('_evs') }];
    const vocabs = {};
    const tableSizes = {};
    const idFields = baseSchema.features.filter((f) => f.kind !== 'numeric');
    const byTable = new Map();
    for (const f of idFields)
        byTable.set(f.table, [...(byTable.get(f.table) ?? []), f]);
    for (const [table, fields] of byTable) {
        const hashed = fields[0].hashBuckets;
        if (hashed) {
            tableSizes[table] = hashed + 1;
            continue;
        }
        const parts = [];
        for (const f of fields) {
            const where = findSource(f, tables);
            const col = sqlId(f.source);
            if (f.kind === 'categorical')
                parts.push(`SELECT ${col}::VARCHAR AS v FROM ${where} WHERE _split = 0 AND ${col} IS NOT NULL`);
            else
                parts.push(`SELECT unnest(string_split(${col}::VARCHAR, ${sqlStr(sep)})) AS v FROM ${where} WHERE _split = 0 AND ${col} IS NOT NULL`);
        }
        const minCount = Math.max(...fields.map((f) => f.minCount));
        const counts = await db.rows(`SELECT v, count(*) FROM (${parts.join(' UNION ALL ')}) WHERE v <> '' GROUP BY v`);
        const vocab = Vocab.fromCounts(table, counts.map((r) => [String(r[0]), Number(r[1])]), minCount);
        vocabs[table] = vocab;
        tableSizes[table] = vocab.size;
    }
    // 4. Materialise columns for the events and the catalogue.
    const coverage = {};
    const numericStats = {};
    const windowFieldNames = new Set(src.windowFeatures.map((w) => w.field));
    const evColumns = {
        size: n,
        cat: {},
        seq: {},
        num: {},
        labels: {},
        extra: {},
        userKey,
        itemKey,
        ts,
    };
    if (requestId)
        evColumns.requestId = requestId;
    const itemColumns = { size: nItems, cat: {}, seq: {}, num: {}, labels: {}, extra: {} };
    itemColumns.itemKey = Int32Array.from({ length: nItems }, (_, i) => i);
    const catalogCols = await db.columnNames(catalog);
    const idOf = (f, v, cov) => {
        if (f.hashBuckets)
            return 1 + hashBucket(v, f.hashBuckets);
        const k = vocabs[f.table].lookup(v);
        if (k === 0 && cov)
            cov.oov++;
        return k;
    };
    const idPlan = (f, rows, cov) => {
        const expr = `${sqlId(f.source)}::VARCHAR`;
        if (f.kind === 'categorical') {
            const out = new Int32Array(rows);
            const onString = (r, v) => {
                if (v === null || v === '') {
                    if (cov)
                        cov.missing++;
                    out[r] = 0;
                }
                else
                    out[r] = idOf(f, v, cov);
            };
            return { plan: { expr, spec: { kind: 'string', onString } }, out };
        }
        const L = f.maxLen;
        const out = new Int32Array(rows * L).fill(-1);
        const onString = (r, v) => {
            if (v === null || v === '') {
                if (cov)
                    cov.missing++;
                return;
            }
            const parts = v.split(sep).filter((p) => p !== '');
            // Keep the LAST maxLen entries: for histories, the most recent ones.
            const start = Math.max(0, parts.length - L);
            for (let j = start; j < parts.length; j++)
                out[r * L + (j - start)] = idOf(f, parts[j], cov);
        };
        return { plan: { expr, spec: { kind: 'string', onString } }, out };
    };
    const numPlan = (col, rows) => {
        const out = new Float32Array(rows);
        return { plan: { expr: `${sqlId(col)}::DOUBLE`, spec: { kind: 'number', out } }, out };
    };
    const runPlans = async (table, order, plans) => {
        if (!plans.length)
            return;
        await db.fetchColumns(`SELECT ${plans.map((p) => p.expr).join(', ')} FROM ${sqlId(table)} ORDER BY ${order}`, plans.map((p) => p.spec));
    };
    const evPlans = [];
    const itemPlans = [];
    const numericRaw = [];
    for (const f of baseSchema.fields) {
        if (windowFieldNames.has(f.name))
            continue;
        findSource(f, tables);
        const inCatalog = f.group === 'item' && catalogCols.includes(f.source);
        if (f.kind === 'categorical' || f.kind === 'multi_hot' || f.kind === 'sequence') {
            const cov = { oov: 0, missing: 0 };
            coverage[f.name] = cov;
            const ev = idPlan(f, n, cov);
            evPlans.push(ev.plan);
            if (f.kind === 'categorical')
                evColumns.cat[f.name] = ev.out;
            else
                evColumns.seq[f.name] = { ids: ev.out, maxLen: f.maxLen };
            if (inCatalog) {
                const it = idPlan(f, nItems, null);
                itemPlans.push(it.plan);
                if (f.kind === 'categorical')
                    itemColumns.cat[f.name] = it.out;
                else
                    itemColumns.seq[f.name] = { ids: it.out, maxLen: f.maxLen };
            }
        }
        else if (f.kind === 'numeric') {
            const ev = numPlan(f.source, n);
            evPlans.push(ev.plan);
            const entry = { f, ev: ev.out };
            if (inCatalog) {
                const it = numPlan(f.source, nItems);
                itemPlans.push(it.plan);
                entry.item = it.out;
            }
            numericRaw.push(entry);
        }
        else {
            const ev = numPlan(f.source, n);
            evPlans.push(ev.plan);
            evColumns.labels[f.name] = ev.out;
        }
    }
    await runPlans('_evs', '_row', evPlans);
    await runPlans(catalog, '_line, _item', itemPlans);
    for (const { f, ev, item } of numericRaw) {
        const stats = fitNumeric(ev, split, f);
        numericStats[f.name] = stats;
        evColumns.num[f.name] = normalizeInPlace(ev, f.normalize, stats);
        if (item)
            itemColumns.num[f.name] = normalizeInPlace(item, f.normalize, stats);
    }
    for (const [name, col] of Object.entries(evColumns.labels)) {
        for (let i = 0; i < n; i++) {
            if (!Number.isFinite(col[i]))
                throw new Error(`${src.kind}: label '${name}' is missing or not finite at event row ${i}`);
        }
    }
    // 5. Privileged window features.
    const bound = [];
    for (const spec of src.windowFeatures) {
        const f = baseSchema.field(spec.field);
        if (f.kind !== 'numeric')
            throw new Error(`window feature '${spec.field}' must be declared as a numeric field`);
        const keyField = baseSchema.field(spec.keyField);
        if (keyField.group !== 'item')
            throw new Error(`window feature '${spec.field}': key field '${spec.keyField}' must be an item field`);
        if (!catalogCols.includes(keyField.source))
            throw new Error(`window feature '${spec.field}': the item catalogue has no column '${keyField.source}'`);
        // Keys by raw value over the whole catalogue: exact counts even for values unseen in train.
        const codes = new Map();
        const K = keyField.kind === 'categorical' ? 1 : keyField.maxLen;
        const itemKeys = new Int32Array(nItems * K).fill(-1);
        await db.fetchColumns(`SELECT ${sqlId(keyField.source)}::VARCHAR FROM ${sqlId(catalog)} ORDER BY _line, _item`, [
            {
                kind: 'string',
                onString: (r, v) => {
                    if (v === null || v === '')
                        return;
                    const parts = K === 1 ? [v] : v.split(sep).filter((p) => p !== '');
                    const start = Math.max(0, parts.length - K);
                    for (let j = start; j < parts.length; j++) {
                        let c = codes.get(parts[j]);
                        if (c === undefined) {
                            c = codes.size;
                            codes.set(parts[j], c);
                        }
                        itemKeys[r * K + (j - start)] = c;
                    }
                },
            },
        ]);
        // History = every event (or every positive one), exploded over the item's keys.
        const include = spec.countLabel ? evColumns.labels[spec.countLabel] : undefined;
        if (spec.countLabel && !include)
            throw new Error(`window feature '${spec.field}': countLabel '${spec.countLabel}' is not a label field`);
        const hu = new Int32Array(n * K);
        const hk = new Int32Array(n * K).fill(-1);
        const ht = new Float64Array(n * K);
        const hinc = new Float32Array(n * K);
        for (let i = 0; i < n; i++) {
            for (let j = 0; j < K; j++) {
                hu[i * K + j] = userKey[i];
                hk[i * K + j] = itemKeys[itemKey[i] * K + j];
                ht[i * K + j] = ts[i];
                hinc[i * K + j] = include ? include[i] : 1;
            }
        }
        const windowSeconds = opts.windowSeconds ?? spec.windowSeconds ?? DEFAULT_WINDOW_SECONDS;
        const counter = new WindowCounter(hu, hk, ht, Math.max(1, codes.size), windowSeconds, hinc);
        const bw = new BoundWindowFeature({ ...spec, windowSeconds }, counter, itemKeys, K);
        bound.push(bw);
        const vals = bw.compute(userKey, itemKey, ts);
        const stats = fitNumeric(vals, split, f);
        numericStats[f.name] = stats;
        evColumns.num[f.name] = normalizeInPlace(vals, f.normalize, stats);
    }
    const schema = baseSchema.withFit({ tableSizes, numericStats });
    const events = new ColumnarDataset(evColumns, `${src.kind} events`);
    const splits = {};
    const splitRows = {};
    const labelRates = {};
    SPLIT_NAMES.forEach((name, s) => {
        let m = 0;
        for (let i = 0; i < n; i++)
            if (split[i] === s)
                m++;
        const rows = new Int32Array(m);
        m = 0;
        for (let i = 0; i < n; i++)
            if (split[i] === s)
                rows[m++] = i;
        // A time split is contiguous in the time-ordered events: share the columns (no copy).
        const contiguous = m > 0 && rows[m - 1] - rows[0] === m - 1;
        splits[name] = contiguous
            ? new ColumnarDataset(sliceColumns(evColumns, rows[0], rows[0] + m))
            : events.select(rows);
        splitRows[name] = m;
        const rates = {};
        for (const [lab, col] of Object.entries(evColumns.labels)) {
            let sum = 0;
            for (let i = 0; i < n; i++)
                if (split[i] === s)
                    sum += col[i];
            rates[lab] = m ? sum / m : Number.NaN;
        }
        labelRates[name] = rates;
    });
    const fingerprint = await fingerprintFiles(src.files);
    await db.run('DROP TABLE IF EXISTS _evs; DROP TABLE IF EXISTS _items');
    return {
        name: src.name,
        kind: src.kind,
        path: src.path,
        schema,
        vocabs,
        events,
        split,
        splitSpec,
        splits,
        items: new ColumnarDataset(itemColumns, `${src.kind} items`),
        userIds,
        itemIds,
        labels: src.labels,
        windowFeatures: bound,
        stats: {
            rows: n,
            splitRows,
            labelRates,
            users: userIds.length,
            items: nItems,
            coverage,
            reads: src.reads,
        },
        fingerprint,
    };
}
/** Train-split statistics of a numeric column; refuses values a normalisation cannot take. */
function fitNumeric(vals, split, f) {
    let cnt = 0;
    let sum = 0;
    let sq = 0;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < vals.length; i++) {
        const v = vals[i];
        if (!Number.isFinite(v))
            throw new Error(`numeric field '${f.name}': non-finite value ${v} at event row ${i}`);
        if (f.normalize === 'log1p' && v < 0)
            throw new Error(`numeric field '${f.name}': log1p normalisation needs values >= 0, got ${v} at event row ${i}`);
        if (split[i] !== 0)
            continue;
        cnt++;
        sum += v;
        sq += v * v;
        if (v < min)
            min = v;
        if (v > max)
            max = v;
    }
    if (cnt === 0)
        return { mean: 0, std: 1, min: 0, max: 1 };
    const mean = sum / cnt;
    return { mean, std: Math.sqrt(Math.max(0, sq / cnt - mean * mean)), min, max };
}
/**
 * Privileged window features for arbitrary rows (e.g. sampled negatives), normalised exactly like
 * the events' columns.
 */
export function privilegedColumns(ds, userKey, itemKey, ts) {
    const out = {};
    for (const w of ds.windowFeatures) {
        const f = ds.schema.field(w.spec.field);
        out[f.name] = normalizeInPlace(w.compute(userKey, itemKey, ts), f.normalize, ds.schema.numericStats(f.name));
    }
    return out;
}
//# sourceMappingURL=dataset.js.map