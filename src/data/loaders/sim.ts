/**
 * Loader for the simulator's output (`sim:DIR`), the embedded default dataset. Format as written by
 * src/data/simulator.ts:
 *   DIR/users.csv   user_id,age_bucket,gender,region
 *   DIR/items.csv   item_id,category,shop,clickbait   (clickbait is ground truth: never a feature)
 *   DIR/events.csv  ts,request_id,user_id,item_id,position,click,dwell_s,long_dwell
 *   DIR/world.json  parameters + seed
 * or the same tables as .parquet, the events either as one DIR/events.parquet or (what `kdrec
 * simulate --format parquet` writes) partitioned as DIR/events/part-00000.parquet, part-00001, ...:
 * the parts are read in index order, which is log (ts) order, and each is checked on its own so a
 * bad value is reported with the part's file name. `_line` of a partitioned log is the 1-based row
 * across all parts (part k's row r is r plus the rows of parts 0..k−1), which keeps same-second
 * events in log order when the dataset sorts by (ts, _line).
 *
 * Features: user demographics; item id, category, shop; the hour of day as context; privileged =
 * the user's clicks on this item's category and on its shop in the trailing window (the simulator's
 * short-term state raises click probability on recently clicked categories/shops, so these counts
 * carry signal the online student cannot see). Labels: click, long_dwell (dwell > 50 s), dwell_s.
 * `position` is logged but not a feature: it is unknown when recall and pre-ranking run.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { PreparedSource } from '../dataset.js';
import type { ColumnType, DuckDb, ReadOptions, ReadReport } from '../readers.js';
import type { SchemaDecl } from '../schema.js';
import type { UserStateSource } from '../userState.js';

function tablePath(dir: string, name: string): string {
  for (const ext of ['csv', 'parquet']) {
    const p = join(dir, `${name}.${ext}`);
    if (existsSync(p)) return p;
  }
  throw new Error(
    `sim:${dir}: no ${name}.csv or ${name}.parquet (is this a \`kdrec simulate --out\` directory?)`,
  );
}

const PART_RE = /^part-(\d+)\.parquet$/;

/**
 * The event files: DIR/events/part-NNNNN.parquet in index order when that folder exists, else the
 * single events.csv or events.parquet. Refuses a folder with gaps or foreign files (a missing part
 * would silently drop a stretch of the log) and a folder next to a single events file (which one
 * belongs to the world.json is unknowable).
 */
function eventPathsOf(dir: string): string[] {
  const folder = join(dir, 'events');
  if (!existsSync(folder) || !statSync(folder).isDirectory()) return [tablePath(dir, 'events')];
  const single = ['events.csv', 'events.parquet'].filter((f) => existsSync(join(dir, f)));
  if (single.length) {
    throw new Error(
      `sim:${dir}: both ${folder}/ and ${single.join(', ')} exist; remove the stale one (rerun \`kdrec simulate\`)`,
    );
  }
  const parts: { k: number; name: string }[] = [];
  for (const name of readdirSync(folder)) {
    const m = PART_RE.exec(name);
    if (!m) {
      throw new Error(
        `sim:${dir}: ${join(folder, name)} is not an event part (expected only part-NNNNN.parquet files in ${folder})`,
      );
    }
    parts.push({ k: Number(m[1]), name });
  }
  // Numeric order, so it stays log order past part-99999 where the names outgrow 5 digits.
  parts.sort((a, b) => a.k - b.k);
  if (!parts.length) throw new Error(`sim:${dir}: ${folder} holds no part-NNNNN.parquet files`);
  parts.forEach((p, i) => {
    if (p.k !== i) {
      throw new Error(
        `sim:${dir}: ${folder} has no part ${i} (found ${p.name} next); the event log is incomplete`,
      );
    }
  });
  return parts.map((p) => join(folder, p.name));
}

const EVENT_COLUMNS: Record<string, ColumnType> = {
  ts: 'BIGINT',
  request_id: 'BIGINT',
  user_id: 'BIGINT',
  item_id: 'BIGINT',
  click: 'INTEGER',
  dwell_s: 'DOUBLE',
  long_dwell: 'INTEGER',
};

/**
 * Reads the event files into `table`. One file is one readTable; parts are read one at a time and
 * appended (each part table dropped after), so DuckDB holds the log plus one part, not two logs.
 */
async function readEvents(
  db: DuckDb,
  table: string,
  paths: string[],
  opts: ReadOptions,
): Promise<ReadReport[]> {
  if (paths.length === 1)
    return [await db.readTable(table, { path: paths[0]!, columns: EVENT_COLUMNS }, opts)];
  const reports: ReadReport[] = [];
  let before = 0;
  for (let k = 0; k < paths.length; k++) {
    const part = `${table}_part`;
    const r = await db.readTable(part, { path: paths[k]!, columns: EVENT_COLUMNS }, opts);
    reports.push(r);
    const rows = `SELECT * EXCLUDE (_line), (_line + ${before})::BIGINT AS _line FROM ${part}`;
    await db.run(
      k === 0 ? `CREATE OR REPLACE TEMP TABLE ${table} AS ${rows}` : `INSERT INTO ${table} ${rows}`,
    );
    await db.run(`DROP TABLE ${part}`);
    // _line counts the part's rows as stored, skipped bad rows included.
    before += r.rows + r.skipped;
  }
  return reports;
}

export const SIM_SCHEMA: SchemaDecl = {
  fields: [
    { name: 'user_id', kind: 'categorical', group: 'user', embedding: { share: 'user_id' } },
    { name: 'age_bucket', kind: 'categorical', group: 'user' },
    { name: 'gender', kind: 'categorical', group: 'user' },
    { name: 'region', kind: 'categorical', group: 'user' },
    { name: 'item_id', kind: 'categorical', group: 'item', embedding: { share: 'item_id' } },
    { name: 'category', kind: 'categorical', group: 'item' },
    { name: 'shop', kind: 'categorical', group: 'item' },
    { name: 'hour', kind: 'categorical', group: 'context' },
    {
      name: 'user_category_clicks',
      kind: 'numeric',
      group: 'privileged',
      normalize: 'log1p',
      source: '_w_user_category',
    },
    {
      name: 'user_shop_clicks',
      kind: 'numeric',
      group: 'privileged',
      normalize: 'log1p',
      source: '_w_user_shop',
    },
    { name: 'click', kind: 'label' },
    { name: 'long_dwell', kind: 'label' },
    { name: 'dwell_s', kind: 'label' },
  ],
};

/**
 * User state (issue 9, src/data/userState.ts): the last-N exposed items and their categories, and
 * the user's recent click and long-dwell rates.
 */
export const SIM_USER_STATE: UserStateSource = {
  itemField: 'item_id',
  keyField: 'category',
  rateLabels: ['click', 'long_dwell'],
};

export async function prepareSim(db: DuckDb, dir: string, opts: ReadOptions): Promise<PreparedSource> {
  const usersPath = tablePath(dir, 'users');
  const itemsPath = tablePath(dir, 'items');
  const eventPaths = eventPathsOf(dir);
  const reads = [
    await db.readTable(
      'sim_users',
      {
        path: usersPath,
        columns: { user_id: 'BIGINT', age_bucket: 'VARCHAR', gender: 'VARCHAR', region: 'VARCHAR' },
      },
      opts,
    ),
    await db.readTable(
      'sim_items',
      { path: itemsPath, columns: { item_id: 'BIGINT', category: 'VARCHAR', shop: 'VARCHAR' } },
      opts,
    ),
    ...(await readEvents(db, 'sim_events', eventPaths, opts)),
  ];
  await db.run(
    'CREATE OR REPLACE TEMP TABLE sim_u AS SELECT user_id::VARCHAR AS _user, user_id::VARCHAR AS user_id, age_bucket, gender, region, _line FROM sim_users',
  );
  await db.run(
    'CREATE OR REPLACE TEMP TABLE sim_i AS SELECT item_id::VARCHAR AS _item, item_id::VARCHAR AS item_id, category, shop, _line FROM sim_items',
  );
  await db.run(
    'CREATE OR REPLACE TEMP TABLE sim_e AS SELECT ts::DOUBLE AS _ts, user_id::VARCHAR AS _user, item_id::VARCHAR AS _item, ' +
      'request_id::VARCHAR AS _request, ((ts % 86400) // 3600)::VARCHAR AS hour, click, long_dwell, dwell_s, _line FROM sim_events',
  );
  const files = [usersPath, itemsPath, ...eventPaths];
  if (existsSync(join(dir, 'world.json'))) files.push(join(dir, 'world.json'));
  return {
    name: `sim:${dir}`,
    kind: 'sim',
    path: dir,
    schemaDecl: SIM_SCHEMA,
    files,
    reads,
    events: 'sim_e',
    items: 'sim_i',
    users: 'sim_u',
    windowFeatures: [
      { field: 'user_category_clicks', keyField: 'category', countLabel: 'click' },
      { field: 'user_shop_clicks', keyField: 'shop', countLabel: 'click' },
    ],
    labels: { click: 'click', long: 'long_dwell' },
  };
}
