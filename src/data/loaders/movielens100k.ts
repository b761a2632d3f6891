/**
 * Loader for MovieLens-100K (`movielens-100k:DIR`; F. M. Harper and J. A. Konstan, "The MovieLens
 * Datasets: History and Context", ACM TiiS 2015). Files (see the dataset README):
 *   u.data   TAB-separated user_id, item_id, rating, timestamp (unix seconds), no header
 *   u.user   pipe-separated user_id|age|gender|occupation|zip_code
 *   u.item   pipe-separated, ISO-8859-1: movie_id|title|release_date|video_release_date|IMDb_URL|19 genre flags
 *   u.genre  genre|index, in the order of u.item's flags
 *
 * Mapping to kdrec's setting: every rating is an interaction (click = 1 on every row: MovieLens logs
 * no non-clicked exposures, so negatives come from recall sampling); rating >= 4 is the
 * long-engagement label, the analogue of reading > 50 s. Features: user demographics (age bucket in
 * the MovieLens-1M buckets, gender, occupation, first two zip characters), item id, genres (multi-hot)
 * and release year. Privileged: the user's ratings of movies sharing this movie's genres in the
 * trailing window (summed over the movie's genres), strictly before the rating's second.
 */
import { join } from 'node:path';
import type { PreparedSource } from '../dataset.js';
import { type DuckDb, type ReadOptions, sqlStr } from '../readers.js';
import type { SchemaDecl } from '../schema.js';
import type { UserStateSource } from '../userState.js';

export const MOVIELENS_SCHEMA: SchemaDecl = {
  fields: [
    { name: 'user_id', kind: 'categorical', group: 'user', embedding: { share: 'user_id' } },
    { name: 'age_bucket', kind: 'categorical', group: 'user' },
    { name: 'gender', kind: 'categorical', group: 'user' },
    { name: 'occupation', kind: 'categorical', group: 'user' },
    { name: 'zip_prefix', kind: 'categorical', group: 'user' },
    { name: 'item_id', kind: 'categorical', group: 'item', embedding: { share: 'item_id' } },
    { name: 'genres', kind: 'multi_hot', group: 'item', maxLen: 6, pooling: 'mean' },
    { name: 'release_year', kind: 'categorical', group: 'item' },
    {
      name: 'user_genre_ratings',
      kind: 'numeric',
      group: 'privileged',
      normalize: 'log1p',
      source: '_w_user_genre',
    },
    { name: 'click', kind: 'label' },
    { name: 'long_engagement', kind: 'label' },
    { name: 'rating', kind: 'label' },
  ],
};

/**
 * User state (issue 9, src/data/userState.ts): the last-N movies and their genres, and the share of
 * recent ratings that are >= 4 (every rating is an interaction here, so a click rate would be 1).
 */
export const MOVIELENS_USER_STATE: UserStateSource = {
  itemField: 'item_id',
  keyField: 'genres',
  rateLabels: ['long_engagement'],
};

const GENRE_COLS = Array.from({ length: 19 }, (_, i) => `g${i}`);

export async function prepareMovielens100k(
  db: DuckDb,
  dir: string,
  opts: ReadOptions,
): Promise<PreparedSource> {
  const p = (f: string) => join(dir, f);
  const reads = [
    await db.readTable(
      'ml_data',
      {
        path: p('u.data'),
        format: 'tsv',
        header: false,
        columnNames: ['user_id', 'item_id', 'rating', 'timestamp'],
        columns: { user_id: 'INTEGER', item_id: 'INTEGER', rating: 'INTEGER', timestamp: 'BIGINT' },
      },
      opts,
    ),
    await db.readTable(
      'ml_user',
      {
        path: p('u.user'),
        format: 'csv',
        delimiter: '|',
        header: false,
        columnNames: ['user_id', 'age', 'gender', 'occupation', 'zip_code'],
        columns: {
          user_id: 'INTEGER',
          age: 'INTEGER',
          gender: 'VARCHAR',
          occupation: 'VARCHAR',
          zip_code: 'VARCHAR',
        },
      },
      opts,
    ),
    await db.readTable(
      'ml_item',
      {
        path: p('u.item'),
        format: 'csv',
        delimiter: '|',
        header: false,
        encoding: 'latin-1',
        quote: '',
        columnNames: ['item_id', 'title', 'release_date', 'video_release_date', 'url', ...GENRE_COLS],
        columns: {
          item_id: 'INTEGER',
          release_date: 'VARCHAR',
          ...Object.fromEntries(GENRE_COLS.map((g) => [g, 'INTEGER' as const])),
        },
      },
      opts,
    ),
    await db.readTable(
      'ml_genre',
      {
        path: p('u.genre'),
        format: 'csv',
        delimiter: '|',
        header: false,
        columnNames: ['genre', 'idx'],
        columns: { genre: 'VARCHAR', idx: 'INTEGER' },
      },
      opts,
    ),
  ];
  const genres = (await db.rows('SELECT idx, genre FROM ml_genre ORDER BY idx')).map((r) => String(r[1]));
  if (genres.length !== 19) throw new Error(`${p('u.genre')}: expected 19 genres, found ${genres.length}`);
  const genreList = genres.map((g, i) => `CASE WHEN g${i} = 1 THEN ${sqlStr(g)} END`).join(', ');
  await db.run(
    `CREATE OR REPLACE TEMP TABLE ml_i AS SELECT item_id::VARCHAR AS _item, item_id::VARCHAR AS item_id, ` +
      `concat_ws('|', ${genreList}) AS genres, right(release_date, 4) AS release_year, _line FROM ml_item`,
  );
  // Age buckets of MovieLens-1M: under 18, 18-24, 25-34, 35-44, 45-49, 50-55, 56+.
  await db.run(
    `CREATE OR REPLACE TEMP TABLE ml_u AS SELECT user_id::VARCHAR AS _user, user_id::VARCHAR AS user_id, ` +
      `CASE WHEN age < 18 THEN '<18' WHEN age < 25 THEN '18-24' WHEN age < 35 THEN '25-34' WHEN age < 45 THEN '35-44' ` +
      `WHEN age < 50 THEN '45-49' WHEN age < 56 THEN '50-55' ELSE '56+' END AS age_bucket, gender, occupation, ` +
      `left(zip_code, 2) AS zip_prefix, _line FROM ml_user`,
  );
  await db.run(
    `CREATE OR REPLACE TEMP TABLE ml_e AS SELECT timestamp::DOUBLE AS _ts, user_id::VARCHAR AS _user, item_id::VARCHAR AS _item, ` +
      `1 AS click, (rating >= 4)::INTEGER AS long_engagement, rating, _line FROM ml_data`,
  );
  return {
    name: `movielens-100k:${dir}`,
    kind: 'movielens-100k',
    path: dir,
    schemaDecl: MOVIELENS_SCHEMA,
    files: ['u.data', 'u.user', 'u.item', 'u.genre'].map(p),
    reads,
    events: 'ml_e',
    items: 'ml_i',
    users: 'ml_u',
    windowFeatures: [{ field: 'user_genre_ratings', keyField: 'genres' }],
    labels: { click: 'click', long: 'long_engagement' },
  };
}
