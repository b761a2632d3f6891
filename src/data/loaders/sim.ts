/**
 * Loader for the simulator's output (`sim:DIR`), the embedded default dataset. Format as written by
 * src/data/simulator.ts:
 *   DIR/users.csv   user_id,age_bucket,gender,region
 *   DIR/items.csv   item_id,category,shop,clickbait   (clickbait is ground truth: never a feature)
 *   DIR/events.csv  ts,request_id,user_id,item_id,position,click,dwell_s,long_dwell
 *   DIR/world.json  parameters + seed
 * or the same tables as .parquet.
 *
 * Features: user demographics; item id, category, shop; the hour of day as context; privileged =
 * the user's clicks on this item's category and on its shop in the trailing window (the simulator's
 * short-term state raises click probability on recently clicked categories/shops, so these counts
 * carry signal the online student cannot see). Labels: click, long_dwell (dwell > 50 s), dwell_s.
 * `position` is logged but not a feature: it is unknown when recall and pre-ranking run.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { PreparedSource } from '../dataset.js';
import type { DuckDb, ReadOptions } from '../readers.js';
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
  const eventsPath = tablePath(dir, 'events');
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
    await db.readTable(
      'sim_events',
      {
        path: eventsPath,
        columns: {
          ts: 'BIGINT',
          request_id: 'BIGINT',
          user_id: 'BIGINT',
          item_id: 'BIGINT',
          click: 'INTEGER',
          dwell_s: 'DOUBLE',
          long_dwell: 'INTEGER',
        },
      },
      opts,
    ),
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
  const files = [usersPath, itemsPath, eventsPath];
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
