/**
 * `kdrec simulate --events N` and the partitioned Parquet event log (DIR/events/part-NNNNN.parquet):
 * exact counts, part and row-group sizes, determinism, stale-output cleanup, interrupted runs and
 * the refusal of contradictory options.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { Command } from 'commander';
import * as simulateCmd from '../../src/cli/commands/simulate.js';
import { loadDataset } from '../../src/data/loaders/index.js';
import { readSimulationManifest, type SimulateOptions, simulate } from '../../src/data/simulator.js';
import { openDuck, tempDir } from './fixtures.js';

const root = tempDir('simevents');
const base = { users: 300, items: 500, seed: 11, requestsPerUserDay: 4 } as const;
/** Not a multiple of the slate size, so the limit falls inside a request (checked below). */
const N = 13_337;
const PART = 3000;
const GROUP = 2048;

const csvLines = (dir: string): string[] => readFileSync(join(dir, 'events.csv'), 'utf8').split('\n');

/** The rows of the parts in part order, each formatted as its CSV line would be. */
async function partRows(dir: string): Promise<string[][]> {
  const db = await openDuck();
  try {
    const out: string[][] = [];
    for (const part of readSimulationManifest(dir).files.eventParts!) {
      const rows = await db.rows(`SELECT * FROM read_parquet('${join(dir, part)}')`);
      out.push(rows.map((r) => r.map(String).join(',')));
    }
    return out;
  } finally {
    db.close();
  }
}

describe('simulate --events', () => {
  const full = join(root, 'full');
  const csv = join(root, 'csv');
  const pq = join(root, 'pq');

  before(async () => {
    await simulate({ out: full, ...base, days: 2 });
    await simulate({ out: csv, ...base, events: N });
    await simulate({
      out: pq,
      ...base,
      events: N,
      format: 'parquet',
      partEvents: PART,
      rowGroupSize: GROUP,
    });
  });

  test('writes exactly N events: the first N of a longer run, the last slate truncated', () => {
    const fullText = readFileSync(join(full, 'events.csv'));
    const text = readFileSync(join(csv, 'events.csv'));
    const lines = csvLines(csv);
    assert.equal(lines.length, N + 2, 'header, N rows, trailing newline');
    const fullLines = csvLines(full);
    assert.ok(fullLines.length - 2 > N, 'the 2-day run must be longer than N for the prefix check');
    assert.ok(
      fullText.subarray(0, text.length).equals(text),
      'events.csv is a byte prefix of the longer run',
    );
    // The N-th event is not the end of its request in the longer run: its slate was cut.
    const last = lines[N]!.split(',');
    const next = fullLines[N + 1]!.split(',');
    assert.equal(next[1], last[1], 'the limit falls inside a request');
    assert.equal(Number(next[4]), Number(last[4]) + 1);
    const m = readSimulationManifest(csv);
    assert.equal(m.counts.events, N);
    assert.equal(m.simulation.eventLimit, N);
    assert.equal(m.counts.requests, Number(last[1]) + 1);
    assert.equal(m.simulation.days, Math.floor((Number(last[0]) - m.simulation.startTs) / 86_400) + 1);
    assert.equal(m.simulation.days, 2, 'N needs part of a second day in this world');
    let clicks = 0;
    for (let r = 1; r <= N; r++) clicks += Number(lines[r]!.split(',')[5]);
    assert.equal(m.counts.clicks, clicks);
    assert.equal(readSimulationManifest(full).simulation.eventLimit, undefined);
  });

  test('parquet: N events in parts of at most --part-events whole requests, exact row groups, zstd, typed columns', async () => {
    const m = readSimulationManifest(pq);
    assert.deepEqual(readdirSync(pq).sort(), ['events', 'items.parquet', 'users.parquet', 'world.json']);
    const names = readdirSync(join(pq, 'events')).sort();
    assert.deepEqual(
      names.map((n) => `events/${n}`),
      m.files.eventParts,
      'world.json lists the parts in order, nothing else is in the folder',
    );
    assert.deepEqual(m.parquet, { partEvents: PART, rowGroupSize: GROUP, compression: 'zstd' });
    const db = await openDuck();
    try {
      assert.equal(await db.count(join(pq, 'events', '*.parquet')), N);
      const sizes: number[] = [];
      for (let k = 0; k < names.length; k++) {
        const file = join(pq, 'events', names[k]!);
        const n = await db.count(file);
        sizes.push(n);
        assert.ok(n > 0 && n <= PART, `${names[k]} has ${n} rows`);
        const [firstPos] = (await db.rows(`SELECT position FROM read_parquet('${file}') LIMIT 1`))[0]!;
        assert.equal(firstPos, 0, `${names[k]} starts with a whole request`);
        const groups = (
          await db.rows(
            `SELECT DISTINCT row_group_id, row_group_num_rows FROM parquet_metadata('${file}') ORDER BY 1`,
          )
        ).map((r) => Number(r[1]));
        assert.equal(
          groups.reduce((a, b) => a + b, 0),
          n,
        );
        assert.deepEqual(groups.slice(0, -1), Array(groups.length - 1).fill(GROUP), `${names[k]} row groups`);
        assert.ok(groups.at(-1)! <= GROUP);
        const codecs = await db.rows(`SELECT DISTINCT compression FROM parquet_metadata('${file}')`);
        assert.deepEqual(codecs, [['ZSTD']]);
        if (k + 1 < names.length) {
          // Parts fill greedily: the next part's first request would not have fitted.
          const next = join(pq, 'events', names[k + 1]!);
          const [first] = (
            await db.rows(
              `SELECT count(*) FROM read_parquet('${next}') WHERE request_id = (SELECT request_id FROM read_parquet('${next}') LIMIT 1)`,
            )
          )[0]!;
          assert.ok(n + Number(first) > PART, `${names[k]} stopped early at ${n} rows`);
        }
      }
      assert.ok(sizes.length >= 5, `only ${sizes.length} parts`);
      const types = await db.rows(
        `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${join(pq, 'events', names[0]!)}'))`,
      );
      assert.deepEqual(types, [
        ['ts', 'BIGINT'],
        ['request_id', 'BIGINT'],
        ['user_id', 'INTEGER'],
        ['item_id', 'INTEGER'],
        ['position', 'INTEGER'],
        ['click', 'TINYINT'],
        ['dwell_s', 'INTEGER'],
        ['long_dwell', 'TINYINT'],
      ]);
      assert.equal(await db.count(join(pq, 'users.parquet')), base.users);
      assert.equal(await db.count(join(pq, 'items.parquet')), base.items);
    } finally {
      db.close();
    }
    // The concatenated parts are the CSV run's rows, in order.
    assert.deepEqual((await partRows(pq)).flat(), csvLines(csv).slice(1, -1));
  });

  test('row groups stay exact at the largest --row-group-size, in a part spanning many 8 MB CSV scan ranges', async () => {
    // ~38 MB of CSV chunk: a parallel read_csv would cut vectors short at its range boundaries and
    // overshoot the row group; 1,048,576 rows is also the size the converter's memory limit must fit.
    const out = join(root, 'pq-big');
    const n = 1_100_000;
    await simulate({
      out,
      users: 2000,
      items: 3000,
      seed: 2,
      events: n,
      format: 'parquet',
      partEvents: n,
      rowGroupSize: 1_048_576,
    });
    const db = await openDuck();
    try {
      const file = join(out, 'events', 'part-00000.parquet');
      const groups = (
        await db.rows(
          `SELECT DISTINCT row_group_id, row_group_num_rows FROM parquet_metadata('${file}') ORDER BY 1`,
        )
      ).map((r) => Number(r[1]));
      assert.deepEqual(groups, [1_048_576, n - 1_048_576]);
    } finally {
      db.close();
    }
  });

  test('same options give the same rows; --part-events and --row-group-size only change the cut', async () => {
    const again = join(root, 'pq-again');
    const recut = join(root, 'pq-recut');
    await simulate({
      out: again,
      ...base,
      events: N,
      format: 'parquet',
      partEvents: PART,
      rowGroupSize: GROUP,
    });
    await simulate({
      out: recut,
      ...base,
      events: N,
      format: 'parquet',
      partEvents: 5000,
      rowGroupSize: 4096,
    });
    const a = await partRows(pq);
    assert.deepEqual(await partRows(again), a, 'part by part');
    const b = await partRows(recut);
    assert.notEqual(b.length, a.length);
    assert.deepEqual(b.flat(), a.flat());
    const other = join(root, 'pq-seed');
    await simulate({ out: other, ...base, seed: 12, events: N, format: 'parquet', partEvents: PART });
    assert.notDeepEqual((await partRows(other)).flat(), a.flat(), 'another seed gives other rows');
  });

  test('a rerun removes stale outputs; an interrupted run leaves nothing that loads', async () => {
    const dir = join(root, 'stale');
    const opts = { out: dir, ...base, events: 8000 } as const;
    await simulate({ ...opts, format: 'parquet', partEvents: 1000 });
    assert.equal(readdirSync(join(dir, 'events')).length, 8);
    await simulate({ ...opts });
    assert.deepEqual(readdirSync(dir).sort(), ['events.csv', 'items.csv', 'users.csv', 'world.json']);
    await simulate({ ...opts, format: 'parquet', partEvents: 3000 });
    assert.deepEqual(readdirSync(dir).sort(), ['events', 'items.parquet', 'users.parquet', 'world.json']);
    assert.deepEqual(readdirSync(join(dir, 'events')), [
      'part-00000.parquet',
      'part-00001.parquet',
      'part-00002.parquet',
    ]);

    // Interrupted after day 1 of 3: the previous dataset is gone and nothing complete-looking is left.
    const stop: SimulateOptions['onProgress'] = (day) => {
      if (day === 1) throw new Error('interrupted');
    };
    await assert.rejects(
      simulate({ out: dir, ...base, days: 3, format: 'parquet', partEvents: 2000, onProgress: stop }),
      /interrupted/,
    );
    const left = readdirSync(dir).sort();
    assert.ok(!left.includes('world.json') && !left.includes('events'), `left: ${left.join(', ')}`);
    assert.ok(!left.some((f) => f === 'users.parquet' || f === 'items.parquet'), `left: ${left.join(', ')}`);
    assert.ok(left.includes('events.partial'), 'the unfinished parts stay under their temporary name');
    await assert.rejects(loadDataset(`sim:${dir}`), /no users\.csv or users\.parquet/);
    await simulate({ ...opts, format: 'parquet', partEvents: 3000 });
    assert.deepEqual(readdirSync(dir).sort(), ['events', 'items.parquet', 'users.parquet', 'world.json']);

    // A foreign file in events/ is not deleted: the run is refused before it deletes anything.
    writeFileSync(join(dir, 'events', 'notes.txt'), 'mine');
    await assert.rejects(
      simulate({ ...opts }),
      /events holds files kdrec simulate did not write \(notes\.txt\); remove them or use another --out/,
    );
    assert.ok(existsSync(join(dir, 'events', 'notes.txt')));
    assert.deepEqual(readdirSync(dir).sort(), ['events', 'items.parquet', 'users.parquet', 'world.json']);
    assert.equal(readdirSync(join(dir, 'events')).length, 4, 'the three parts and notes.txt');
  });

  test('contradictory or invalid options are refused, naming the option, before anything is written', async () => {
    const out = join(root, 'refused');
    const cases: [Partial<SimulateOptions>, RegExp][] = [
      [{ days: 2, events: 100 }, /--days and --events are alternatives/],
      [{ events: 0 }, /--events is 0, expected an integer in \[1, /],
      [{ events: 1.5 }, /--events is 1\.5/],
      [{ days: 0 }, /--days is 0/],
      [{ partEvents: 1000 }, /--part-events applies only to --format parquet/],
      [{ rowGroupSize: 4096 }, /--row-group-size applies only to --format parquet/],
      [
        { format: 'parquet', rowGroupSize: 100_000 },
        /--row-group-size is 100000, expected a multiple of 2048 .*round it up to 100352/,
      ],
      [{ format: 'parquet', rowGroupSize: 1024 }, /--row-group-size is 1024/],
      [
        { format: 'parquet', rowGroupSize: 2_097_152 },
        /--row-group-size is 2097152, expected an integer in \[2048, 1048576\]/,
      ],
      [
        { format: 'parquet', partEvents: 5 },
        /--part-events is 5, below --slate-size 10: a part holds whole requests/,
      ],
      [
        { users: 1, requestsPerUserDay: 0.01, events: 1e9 },
        /--events 1000000000 needs more than \d+ days .*the limit is 36500 days/,
      ],
    ];
    for (const [o, re] of cases) {
      await assert.rejects(simulate({ out, ...base, ...o } as SimulateOptions), re, JSON.stringify(o));
    }
    assert.ok(!existsSync(out), 'nothing was written');

    const cli = (args: string[]) => {
      const p = new Command();
      p.exitOverride();
      p.configureOutput({ writeOut: () => {}, writeErr: () => {} });
      simulateCmd.register(p);
      return p.parseAsync(['node', 'kdrec', 'simulate', '--out', out, '--quiet', ...args]);
    };
    await assert.rejects(cli(['--days', '2', '--events', '100']), /--days and --events are alternatives/);
    await assert.rejects(cli(['--events', '1e6']), /option --events: '1e6' is not an integer >= 1/);
    await assert.rejects(cli(['--part-events', '100']), /--part-events applies only to --format parquet/);
    assert.ok(!existsSync(out));
  });

  test('the CLI passes --events, --part-events and --row-group-size through', async () => {
    const out = join(root, 'cli');
    mkdirSync(out);
    const p = new Command();
    p.exitOverride();
    simulateCmd.register(p);
    // Capture only the command's summary line: the test runner reports through the same stream.
    const write = process.stdout.write;
    let printed = '';
    process.stdout.write = ((s: unknown, ...rest: unknown[]) => {
      if (typeof s === 'string' && s.startsWith('wrote ')) {
        printed += s;
        return true;
      }
      return (write as (...a: unknown[]) => boolean).call(process.stdout, s, ...rest);
    }) as typeof process.stdout.write;
    try {
      await p.parseAsync([
        'node',
        'kdrec',
        'simulate',
        '--out',
        out,
        '--users',
        '100',
        '--items',
        '200',
        '--events',
        '995',
        '--format',
        'parquet',
        '--part-events',
        '200',
        '--row-group-size',
        '2048',
        '--quiet',
      ]);
    } finally {
      process.stdout.write = write;
    }
    const m = readSimulationManifest(out);
    assert.equal(m.counts.events, 995);
    assert.equal(m.files.eventParts!.length, 5);
    assert.deepEqual(m.parquet, { partEvents: 200, rowGroupSize: 2048, compression: 'zstd' });
    assert.match(printed, /995 events in 5 Parquet part\(s\)/);
  });
});
