/**
 * Loader for KuaiRand CSV (`kuairand:FILE`; C. Gao et al., "KuaiRand: An Unbiased Sequential
 * Recommendation Dataset with Randomly Exposed Videos", CIKM 2022): an interaction log joined with
 * user and video features (user_id, video_id, is_click, play_time_ms, duration_ms, user profile
 * columns, video_type, ...). Optional columns: `time_ms` (event time), `long_view`.
 *
 * Long view: the dataset's `long_view` column when present, else the official rule — play_time_ms
 * >= duration_ms when the video is at most 18 s long, otherwise play_time_ms >= 18 s. duration_ms = 0
 * means "unknown" in KuaiRand; the literal rule would make every such row a long view (play >= 0),
 * so for unknown durations we require play >= 18 s (documented choice).
 *
 * Watch and stay times are outcomes of the exposure, so they are declared labels (which the schema
 * guard then refuses as features). Without `time_ms` (the 200-row sample has none) file order stands
 * in for time and no trailing-window feature is defined.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sqlId } from '../readers.js';
const USER_CATS = [
    'user_active_degree',
    'is_lowactive_period',
    'is_live_streamer',
    'is_video_author',
    'follow_user_num_range',
    'fans_user_num_range',
    'friend_user_num_range',
    'register_days_range',
    ...Array.from({ length: 18 }, (_, i) => `onehot_feat${i}`),
];
const ITEM_CATS = ['video_type', 'visible_status'];
const OUTCOMES = ['profile_stay_time', 'comment_stay_time'];
const REQUIRED = ['user_id', 'video_id', 'is_click', 'play_time_ms', 'duration_ms'];
function resolveFile(path) {
    if (statSync(path).isFile())
        return path;
    const csvs = readdirSync(path).filter((f) => f.endsWith('.csv'));
    if (csvs.length !== 1)
        throw new Error(`kuairand:${path}: expected exactly one CSV file in the directory, found ${csvs.join(', ') || 'none'}`);
    return join(path, csvs[0]);
}
export async function prepareKuairand(db, path, opts) {
    const file = resolveFile(path);
    const head = readFileSync(file, 'utf8').split('\n', 1)[0].trim().split(',');
    const missing = REQUIRED.filter((c) => !head.includes(c));
    if (missing.length)
        throw new Error(`${file}: missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; columns present: ${head.join(', ')}`);
    const hasTime = head.includes('time_ms');
    const hasLongView = head.includes('long_view');
    const userCats = USER_CATS.filter((c) => head.includes(c));
    const itemCats = ITEM_CATS.filter((c) => head.includes(c));
    const outcomes = OUTCOMES.filter((c) => head.includes(c));
    const hasTab = head.includes('tab');
    const types = {
        user_id: 'VARCHAR',
        video_id: 'VARCHAR',
        is_click: 'INTEGER',
        play_time_ms: 'DOUBLE',
        duration_ms: 'DOUBLE',
    };
    // Some categorical codes were written as floats ("1.0"): read as DOUBLE and re-render as integers.
    for (const c of [...userCats, ...itemCats])
        types[c] = 'DOUBLE';
    for (const c of outcomes)
        types[c] = 'DOUBLE';
    if (hasTab)
        types.tab = 'VARCHAR';
    if (hasTime)
        types.time_ms = 'DOUBLE';
    if (hasLongView)
        types.long_view = 'INTEGER';
    const nullable = [...userCats, ...itemCats];
    const reads = [await db.readTable('kr_raw', { path: file, columns: types, nullable }, opts)];
    const asCode = (c) => `CASE WHEN ${sqlId(c)} IS NULL THEN NULL ELSE ${sqlId(c)}::BIGINT::VARCHAR END AS ${sqlId(c)}`;
    const longView = hasLongView
        ? 'long_view'
        : '(CASE WHEN duration_ms > 0 AND duration_ms <= 18000 THEN play_time_ms >= duration_ms ELSE play_time_ms >= 18000 END)::INTEGER';
    await db.run(`CREATE OR REPLACE TEMP TABLE kr_e AS SELECT ${hasTime ? 'time_ms / 1000.0' : '_line::DOUBLE'} AS _ts, user_id AS _user, video_id AS _item, ` +
        `user_id, video_id, ${[...userCats, ...itemCats].map(asCode).join(', ')}${hasTab ? ', tab' : ''}, duration_ms, ` +
        `is_click, ${longView} AS long_view, play_time_ms${outcomes.length ? `, ${outcomes.map(sqlId).join(', ')}` : ''}, _line FROM kr_raw`);
    const fields = [
        { name: 'user_id', kind: 'categorical', group: 'user', embedding: { share: 'user_id' } },
        ...userCats.map((c) => ({ name: c, kind: 'categorical', group: 'user' })),
        { name: 'video_id', kind: 'categorical', group: 'item', embedding: { share: 'item_id' } },
        ...itemCats.map((c) => ({ name: c, kind: 'categorical', group: 'item' })),
        { name: 'duration_ms', kind: 'numeric', group: 'item', normalize: 'log1p' },
        ...(hasTab ? [{ name: 'tab', kind: 'categorical', group: 'context' }] : []),
        { name: 'is_click', kind: 'label' },
        { name: 'long_view', kind: 'label' },
        { name: 'play_time_ms', kind: 'label' },
        ...outcomes.map((c) => ({ name: c, kind: 'label' })),
    ];
    const schemaDecl = { fields };
    return {
        name: `kuairand:${path}`,
        kind: 'kuairand',
        path,
        schemaDecl,
        files: [file],
        reads,
        events: 'kr_e',
        windowFeatures: [],
        labels: { click: 'is_click', long: 'long_view' },
    };
}
//# sourceMappingURL=kuairand.js.map