/**
 * `kdrec simulate`: writes the seeded synthetic dataset (users, items, events, world.json) that is
 * kdrec's embedded default; see src/data/simulator.ts for the file formats and the generative model.
 */
import { SingleBar } from 'cli-progress';
import { SIMULATE_DEFAULTS, simulate } from '../../data/simulator.js';
function intOption(name, min) {
    return (v) => {
        const n = Number(v);
        if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min) {
            throw new Error(`option ${name}: '${v}' is not an integer >= ${min}`);
        }
        return n;
    };
}
function positiveNumber(name) {
    return (v) => {
        const n = Number(v);
        if (v.trim() === '' || !Number.isFinite(n) || n <= 0)
            throw new Error(`option ${name}: '${v}' is not a number > 0`);
        return n;
    };
}
export function register(program) {
    program
        .command('simulate')
        .description('Write a seeded synthetic world: DIR/users.csv, items.csv, events.csv (one row per exposure) and\n' +
        'world.json (the parameters that rebuild the ground truth p(click) and p(dwell > 50 s | click)).\n' +
        'Same options give byte-identical files. Streams day by day, so it scales to 1M users × 100M events.')
        .requiredOption('--out <dir>', 'output directory (created if absent)')
        .option('--users <n>', 'number of users', intOption('--users', 1), SIMULATE_DEFAULTS.users)
        .option('--items <n>', 'number of items', intOption('--items', 1), SIMULATE_DEFAULTS.items)
        .option('--days <n>', 'number of simulated days', intOption('--days', 1), SIMULATE_DEFAULTS.days)
        .option('--seed <n>', 'random seed', intOption('--seed', 0), SIMULATE_DEFAULTS.seed)
        .option('--requests-per-user-day <r>', 'mean requests per user per day (events ≈ users × days × r × slate size)', positiveNumber('--requests-per-user-day'), SIMULATE_DEFAULTS.requestsPerUserDay)
        .option('--slate-size <n>', 'items exposed per request', intOption('--slate-size', 1), SIMULATE_DEFAULTS.slateSize)
        .option('--format <fmt>', 'table format: csv or parquet', 'csv')
        .option('--quiet', 'no progress bar')
        .action(async (o) => {
        if (o.format !== 'csv' && o.format !== 'parquet') {
            throw new Error(`option --format: '${o.format}' is not one of csv, parquet`);
        }
        const bar = !o.quiet && process.stderr.isTTY
            ? new SingleBar({
                format: 'simulate [{bar}] day {value}/{total} | {events} events',
                stream: process.stderr,
            })
            : null;
        bar?.start(o.days, 0, { events: 0 });
        const res = await simulate({
            out: o.out,
            users: o.users,
            items: o.items,
            days: o.days,
            seed: o.seed,
            requestsPerUserDay: o.requestsPerUserDay,
            slateSize: o.slateSize,
            format: o.format,
            onProgress: (day, _days, c) => bar?.update(day, { events: c.events }),
        });
        bar?.stop();
        const s = res.seconds;
        process.stdout.write(`wrote ${o.out}: ${o.users} users, ${o.items} items, ${res.requests} requests, ${res.events} events ` +
            `(CTR ${(res.clicks / Math.max(1, res.events)).toFixed(4)}, ` +
            `long dwell | click ${(res.longDwells / Math.max(1, res.clicks)).toFixed(4)}) in ${s.total.toFixed(2)} s ` +
            `(${Math.round(res.events / Math.max(1e-9, s.events))} events/s, ` +
            `${(res.eventBytes / 1e6 / Math.max(1e-9, s.events)).toFixed(1)} MB/s of CSV)\n`);
    });
}
//# sourceMappingURL=simulate.js.map