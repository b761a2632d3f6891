/** Small fixture files written by the data tests themselves (to os.tmpdir()). */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/engine/rng.js';

const created: string[] = [];
process.on('exit', () => {
  for (const d of created) rmSync(d, { recursive: true, force: true });
});

/** A fresh temp folder, removed when the test process exits. */
export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), `kdrec-${prefix}-`));
  created.push(d);
  return d;
}

export interface SimEvent {
  ts: number;
  request: number;
  user: number;
  item: number;
  click: number;
  dwell: number;
}

export const SIM_ITEMS = [
  // item_id, category, shop
  [0, 0, 0],
  [1, 0, 1],
  [2, 1, 2],
  [3, 1, 2],
  [4, 2, 3],
  [5, 2, 4],
] as const;

/**
 * A tiny simulator-format directory: 4 users, 6 items, `n` events with many same-second ties and
 * clicks on ~40% of rows. Item 5 is exposed only in the last 10% of events (so it is OOV for a
 * train-fitted vocab).
 */
export function writeSimFixture(dir: string, n = 60, seed = 5, eventsText?: string): SimEvent[] {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'users.csv'),
    'user_id,age_bucket,gender,region\n0,1,0,3\n1,2,1,3\n2,2,0,4\n3,5,1,1\n',
  );
  writeFileSync(
    join(dir, 'items.csv'),
    `item_id,category,shop,clickbait\n${SIM_ITEMS.map((r) => `${r.join(',')},0.1000`).join('\n')}\n`,
  );
  const rng = new Rng(seed);
  const events: SimEvent[] = [];
  let ts = 1_700_000_000;
  for (let i = 0; i < n; i++) {
    if (rng.nextFloat() < 0.6) ts += rng.int(4000); // else same second as the previous event
    const late = i >= n - Math.floor(n / 10);
    const item = late && i % 2 === 0 ? 5 : rng.int(5);
    const click = rng.nextFloat() < 0.4 ? 1 : 0;
    const dwell = click ? rng.int(120) : 0;
    events.push({ ts, request: i >> 1, user: rng.int(4), item, click, dwell });
  }
  const body = events.map(
    (e, i) =>
      `${e.ts},${e.request},${e.user},${e.item},${i % 2},${e.click},${e.dwell},${e.click && e.dwell > 50 ? 1 : 0}`,
  );
  writeFileSync(
    join(dir, 'events.csv'),
    eventsText ?? `ts,request_id,user_id,item_id,position,click,dwell_s,long_dwell\n${body.join('\n')}\n`,
  );
  writeFileSync(join(dir, 'world.json'), JSON.stringify({ formatVersion: 1, seed }));
  return events;
}

/** A DuckDB connection for reading Parquet outputs back (`count` of one file or a glob). */
export async function openDuck() {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const rows = async (sql: string): Promise<unknown[][]> =>
    (await conn.runAndReadAll(sql)).getRowsJS() as unknown[][];
  return {
    rows,
    count: async (file: string): Promise<number> =>
      Number((await rows(`SELECT count(*) FROM read_parquet('${file}')`))[0]![0]),
    close: () => {
      conn.closeSync();
      db.closeSync();
    },
  };
}

/** A tiny MovieLens-100K directory (u.item has a Latin-1 byte; u.genre ends with an empty line). */
export function writeMovielensFixture(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const genres = [
    'unknown',
    'Action',
    'Adventure',
    'Animation',
    "Children's",
    'Comedy',
    'Crime',
    'Documentary',
    'Drama',
    'Fantasy',
    'Film-Noir',
    'Horror',
    'Musical',
    'Mystery',
    'Romance',
    'Sci-Fi',
    'Thriller',
    'War',
    'Western',
  ];
  writeFileSync(join(dir, 'u.genre'), `${genres.map((g, i) => `${g}|${i}`).join('\n')}\n\n`);
  const flags = (on: number[]) => genres.map((_, i) => (on.includes(i) ? 1 : 0)).join('|');
  const items = [
    `1|Toy Story (1995)|01-Jan-1995||http://x|${flags([3, 4, 5])}`,
    `2|Mis\u00e9rables, Les (1995)|01-Jan-1995||http://y|${flags([8, 17])}`,
    `3|Heat "quoted (1995)|15-Dec-1995||http://z|${flags([1, 6, 16])}`,
    `4|unknown||||${flags([0])}`,
  ];
  writeFileSync(join(dir, 'u.item'), Buffer.from(`${items.join('\n')}\n`, 'latin1'));
  writeFileSync(join(dir, 'u.user'), '1|24|M|technician|85711\n2|53|F|other|94043\n3|17|M|writer|T8H1N\n');
  // user item rating ts (random order, as in u.data)
  const data = [
    [1, 1, 5, 1000],
    [1, 3, 3, 1010],
    [1, 2, 4, 1010],
    [2, 1, 2, 500],
    [2, 3, 5, 90000],
    [3, 4, 4, 2000],
    [1, 4, 1, 200000],
    [2, 2, 4, 90001],
    [3, 1, 5, 2000],
    [3, 3, 4, 2500],
  ];
  writeFileSync(join(dir, 'u.data'), `${data.map((r) => r.join('\t')).join('\n')}\n`);
}
