/**
 * `kdrec simulate`: writes the seeded synthetic dataset (users, items, events, world.json) that is
 * kdrec's embedded default; see src/data/simulator.ts for the file formats and the generative model.
 */
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { PARQUET_DEFAULTS, SIMULATE_DEFAULTS, simulate } from '../../data/simulator.js';

function intOption(name: string, min: number): (v: string) => number {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new Error(`option ${name}: '${v}' is not an integer >= ${min}`);
    }
    return n;
  };
}

function positiveNumber(name: string): (v: string) => number {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0)
      throw new Error(`option ${name}: '${v}' is not a number > 0`);
    return n;
  };
}

export function register(program: Command): void {
  program
    .command('simulate')
    .description(
      'Write a seeded synthetic world: DIR/users, items and events tables (one event row per exposure) and\n' +
        'world.json (the parameters that rebuild the ground truth p(click) and p(dwell > 50 s | click)).\n' +
        'CSV: DIR/users.csv, items.csv, events.csv. Parquet: DIR/users.parquet, items.parquet and\n' +
        'DIR/events/part-00000.parquet, part-00001.parquet, ... (log order; read them sorted by name).\n' +
        'Size the log by --days (whole days) or --events (exactly N events, as many days as it takes).\n' +
        'Same options give identical rows (byte-identical CSV). Streams day by day and converts Parquet\n' +
        'parts in the background, so memory and disk stay flat up to 100M+ events.',
    )
    .requiredOption('--out <dir>', 'output directory (created if absent)')
    .option('--users <n>', 'number of users', intOption('--users', 1), SIMULATE_DEFAULTS.users)
    .option('--items <n>', 'number of items', intOption('--items', 1), SIMULATE_DEFAULTS.items)
    .option(
      '--days <n>',
      `number of whole days to simulate (default ${SIMULATE_DEFAULTS.days} unless --events is given)`,
      intOption('--days', 1),
    )
    .option(
      '--events <n>',
      'simulate until exactly N events, however many days that takes (~ N / (users × r × slate size));\n' +
        "the last request's slate is truncated at the N-th event. Exclusive with --days",
      intOption('--events', 1),
    )
    .option('--seed <n>', 'random seed', intOption('--seed', 0), SIMULATE_DEFAULTS.seed)
    .option(
      '--requests-per-user-day <r>',
      'mean requests per user per day (events ≈ users × days × r × slate size)',
      positiveNumber('--requests-per-user-day'),
      SIMULATE_DEFAULTS.requestsPerUserDay,
    )
    .option(
      '--slate-size <n>',
      'items exposed per request',
      intOption('--slate-size', 1),
      SIMULATE_DEFAULTS.slateSize,
    )
    .option('--format <fmt>', 'table format: csv or parquet', 'csv')
    .option(
      '--part-events <n>',
      `parquet: the most events per part file, whole requests only (default ${PARQUET_DEFAULTS.partEvents})`,
      intOption('--part-events', 1),
    )
    .option(
      '--row-group-size <n>',
      `parquet: rows per row group, a multiple of 2048 up to 1048576 (default ${PARQUET_DEFAULTS.rowGroupSize})`,
      intOption('--row-group-size', 1),
    )
    .option('--quiet', 'no progress bar')
    .action(
      async (o: {
        out: string;
        users: number;
        items: number;
        days?: number;
        events?: number;
        seed: number;
        requestsPerUserDay: number;
        slateSize: number;
        format: string;
        partEvents?: number;
        rowGroupSize?: number;
        quiet?: boolean;
      }) => {
        if (o.format !== 'csv' && o.format !== 'parquet') {
          throw new Error(`option --format: '${o.format}' is not one of csv, parquet`);
        }
        // An --events run does not know its days in advance: its bar counts events instead.
        const byEvents = o.events !== undefined;
        const bar =
          !o.quiet && process.stderr.isTTY
            ? new SingleBar({
                format: byEvents
                  ? 'simulate [{bar}] {value}/{total} events | day {day}'
                  : 'simulate [{bar}] day {value}/{total} | {events} events',
                stream: process.stderr,
              })
            : null;
        bar?.start(byEvents ? o.events! : (o.days ?? SIMULATE_DEFAULTS.days), 0, { events: 0, day: 0 });
        const res = await simulate({
          out: o.out,
          users: o.users,
          items: o.items,
          ...(o.days !== undefined ? { days: o.days } : {}),
          ...(o.events !== undefined ? { events: o.events } : {}),
          seed: o.seed,
          requestsPerUserDay: o.requestsPerUserDay,
          slateSize: o.slateSize,
          format: o.format,
          ...(o.partEvents !== undefined ? { partEvents: o.partEvents } : {}),
          ...(o.rowGroupSize !== undefined ? { rowGroupSize: o.rowGroupSize } : {}),
          onProgress: (day, _days, c) =>
            byEvents ? bar?.update(c.events, { day }) : bar?.update(day, { events: c.events }),
        });
        bar?.stop();
        const s = res.seconds;
        const m = res.manifest;
        const parts = m.files.eventParts
          ? ` in ${m.files.eventParts.length} Parquet part(s) (waited ${s.conversionWait.toFixed(2)} s for conversion)`
          : '';
        process.stdout.write(
          `wrote ${o.out}: ${o.users} users, ${o.items} items, ${m.simulation.days} day(s), ${res.requests} requests, ` +
            `${res.events} events${parts} ` +
            `(CTR ${(res.clicks / Math.max(1, res.events)).toFixed(4)}, ` +
            `long dwell | click ${(res.longDwells / Math.max(1, res.clicks)).toFixed(4)}) in ${s.total.toFixed(2)} s ` +
            `(${Math.round(res.events / Math.max(1e-9, s.events))} events/s, ` +
            `${(res.eventBytes / 1e6 / Math.max(1e-9, s.events)).toFixed(1)} MB/s of CSV)\n`,
        );
      },
    );
}
