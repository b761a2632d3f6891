/**
 * Loader for Ali-CCP preprocessed CSV (`ali-ccp:PATH`; X. Ma et al., "Entire Space Multi-Task Model",
 * SIGIR 2018). PATH is one CSV file or a directory holding `*train*.csv`, optional `*val*.csv` and
 * `*test*.csv` (torch-rechub's `ali_ccp_{train,val,test}.csv` or PaddleRec-AITM's `train.csv`/`test.csv`).
 *
 * Columns are Ali-CCP feature-field ids, label-encoded (0 = missing or rare): user 101 (user id),
 * 121–129, behaviour fields 109_14/110_14/127_14/150_14 (first id only, so categorical); item 205
 * (item id), 206, 207, 210, 216; context 301 (scenario); user×item cross fields 508/509/702/853 and
 * their dense values D508… — those crosses are user-behaviour × item matches computed offline, so
 * they are declared `privileged` (available to the teacher only). Labels: click, purchase.
 *
 * The split is the files' own (train/val/test); without a val file the last 10% of train rows
 * become valid. The data has no timestamps: file order stands in for time (file index · 1e9 + line),
 * so the split is still "train before test". No trailing-window features can be computed here.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { sqlId } from '../readers.js';
const CAT_GROUPS = {
    '101': 'user',
    '121': 'user',
    '122': 'user',
    '124': 'user',
    '125': 'user',
    '126': 'user',
    '127': 'user',
    '128': 'user',
    '129': 'user',
    '109_14': 'user',
    '110_14': 'user',
    '127_14': 'user',
    '150_14': 'user',
    '205': 'item',
    '206': 'item',
    '207': 'item',
    '210': 'item',
    '216': 'item',
    '301': 'context',
    '508': 'privileged',
    '509': 'privileged',
    '702': 'privileged',
    '853': 'privileged',
};
const DENSE_GROUPS = {
    D109_14: 'user',
    D110_14: 'user',
    D127_14: 'user',
    D150_14: 'user',
    D508: 'privileged',
    D509: 'privileged',
    D702: 'privileged',
    D853: 'privileged',
};
function splitFiles(path) {
    if (statSync(path).isFile())
        return [{ file: path, split: -1 }];
    const csvs = readdirSync(path).filter((f) => f.endsWith('.csv'));
    const pick = (re) => csvs.filter((f) => re.test(basename(f).toLowerCase())).map((f) => join(path, f));
    const train = pick(/train/);
    const val = pick(/val/);
    const test = pick(/test/);
    if (train.length !== 1 || test.length !== 1 || val.length > 1) {
        const sub = readdirSync(path).filter((f) => statSync(join(path, f)).isDirectory());
        throw new Error(`ali-ccp:${path}: expected one *train*.csv, one *test*.csv and at most one *val*.csv; found ${csvs.join(', ') || 'no CSV files'}` +
            (sub.length ? ` (subdirectories: ${sub.join(', ')} — point at one of them)` : ''));
    }
    return [
        { file: train[0], split: 0 },
        ...(val.length ? [{ file: val[0], split: 1 }] : []),
        { file: test[0], split: 2 },
    ];
}
export async function prepareAliCcp(db, path, opts) {
    const files = splitFiles(path);
    const reads = [];
    let present = null;
    let firstHeader = null;
    const parts = [];
    for (let k = 0; k < files.length; k++) {
        const { file, split } = files[k];
        let head = readFileSync(file, 'utf8').split('\n', 1)[0].trim().split(',');
        // PaddleRec-AITM's test.csv has no header line: reuse the train file's column names.
        const headerless = k > 0 &&
            firstHeader !== null &&
            head.length === firstHeader.length &&
            head.every((h) => /^-?\d+(\.\d+)?$/.test(h));
        if (headerless)
            head = firstHeader;
        if (k === 0)
            firstHeader = head;
        if (!head.includes('click') ||
            !head.includes('purchase') ||
            !head.includes('101') ||
            !head.includes('205')) {
            throw new Error(`${file}: missing Ali-CCP columns (need click, purchase, 101, 205); columns present: ${head.join(', ')}`);
        }
        const cols = head.filter((c) => c in CAT_GROUPS || c in DENSE_GROUPS || c === 'click' || c === 'purchase');
        if (present && present.join(',') !== cols.join(','))
            throw new Error(`${file}: columns differ from ${files[0].file}`);
        present = cols;
        const types = {};
        for (const c of cols)
            types[c] = c in DENSE_GROUPS ? 'DOUBLE' : c in CAT_GROUPS ? 'VARCHAR' : 'INTEGER';
        const table = `ali_${k}`;
        reads.push(await db.readTable(table, { path: file, columns: types, ...(headerless ? { header: false, columnNames: head } : {}) }, opts));
        parts.push(`SELECT *, ${split}::INTEGER AS _file_split, ${k}::BIGINT AS _file FROM ${table}`);
    }
    await db.run(`CREATE OR REPLACE TEMP TABLE ali_all AS ${parts.join(' UNION ALL BY NAME ')}`);
    // Without a val file, the last 10% of train rows (file order) become valid.
    const hasVal = files.some((f) => f.split === 1);
    const single = files.length === 1;
    const nTrain = await db.scalar('SELECT count(*) FROM ali_all WHERE _file_split = 0');
    const validFrom = Math.floor(nTrain * 0.9);
    const cols = present;
    const renamed = cols.map((c) => `${sqlId(c)} AS ${sqlId(c in DENSE_GROUPS ? `d${c.slice(1)}` : c in CAT_GROUPS ? `f${c}` : c)}`);
    await db.run(`CREATE OR REPLACE TEMP TABLE ali_e AS SELECT (_file * 1000000000 + _line)::DOUBLE AS _ts, "101" AS _user, "205" AS _item, ` +
        `${single ? 'NULL::INTEGER' : hasVal ? '_file_split' : `CASE WHEN _file_split = 0 AND row_number() OVER (PARTITION BY _file ORDER BY _line) > ${validFrom} THEN 1 ELSE _file_split END`} AS _given_split, ` +
        `${renamed.join(', ')}, (_file * 1000000000 + _line)::BIGINT AS _line FROM ali_all`);
    const fields = [];
    for (const c of cols) {
        if (c in CAT_GROUPS) {
            const f = { name: `f${c}`, kind: 'categorical', group: CAT_GROUPS[c], source: `f${c}` };
            if (c === '101')
                f.embedding = { share: 'user_id' };
            if (c === '205')
                f.embedding = { share: 'item_id' };
            fields.push(f);
        }
        else if (c in DENSE_GROUPS) {
            // Already min-max scaled by the preprocessing.
            fields.push({ name: `d${c.slice(1)}`, kind: 'numeric', group: DENSE_GROUPS[c], normalize: 'none' });
        }
    }
    fields.push({ name: 'click', kind: 'label' }, { name: 'purchase', kind: 'label' });
    const schemaDecl = { fields };
    return {
        name: `ali-ccp:${path}`,
        kind: 'ali-ccp',
        path,
        schemaDecl,
        files: files.map((f) => f.file),
        reads,
        events: 'ali_e',
        windowFeatures: [],
        labels: { click: 'click', conversion: 'purchase' },
        defaultSplit: single ? undefined : { kind: 'given' },
    };
}
//# sourceMappingURL=aliCcp.js.map