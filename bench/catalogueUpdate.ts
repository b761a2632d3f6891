/**
 * Incremental catalogue updates against a full rebuild (issues 7 and 18): `kdrec index add` of
 * `--changes` new items, `kdrec index remove` of as many existing ones, a second add (each appended
 * to the catalogue log; `--compact-fraction` passed through, default the CLI's), `kdrec index compact`
 * folding the log into a new revision, and `kdrec index build --no-tune` (the same graph kind, no
 * tuning) of the same export from scratch, each run on a fresh copy of the export.
 * Runs the compiled CLI as a user would (process wall time, and the command's own in-process
 * seconds from --json).
 *
 * The export is the synthetic one `bench/load.ts --keep DIR` writes (DIR/v1: item fields item_id and
 * category, ids i1..iN, categories c1..c100), so the new rows are generated here.
 *
 *   npm run build && node dist/bench/catalogueUpdate.js --export DIR/v1 [--changes 1000] [--runs 3]
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    export: { type: 'string' },
    changes: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '3' },
    'compact-fraction': { type: 'string' },
  },
});
if (values.export === undefined || !existsSync(join(values.export, 'manifest.json')))
  throw new Error('--export DIR: an export directory written by bench/load.ts --keep (DIR/v1) is required');
const n = Number(values.changes);
const runs = Number(values.runs);
const cli = fileURLToPath(
  new URL(
    import.meta.url.endsWith('.ts') ? '../dist/src/cli/main.js' : '../src/cli/main.js',
    import.meta.url,
  ),
);

const work = mkdtempSync(join(tmpdir(), 'kdrec-catalogue-'));
const addFile = (tag: string) => {
  const f = join(work, `add-${tag}.csv`);
  writeFileSync(
    f,
    `item_id,category\n${Array.from({ length: n }, (_, i) => `${tag}${i},c${1 + (i % 100)}`).join('\n')}\n`,
  );
  return f;
};
const removeFile = join(work, 'remove.txt');
writeFileSync(removeFile, `${Array.from({ length: n }, (_, i) => `i${1 + i * 7}`).join('\n')}\n`);
const addA = addFile('new');
const addB = addFile('more');

/** Runs the CLI; returns wall seconds and the command's own seconds (its --json line, when any). */
function kdrec(args: string[]): { wall: number; inProcess: number | null } {
  const t = performance.now();
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  const wall = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`kdrec ${args.join(' ')} failed: ${r.stderr}`);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  const inProcess = last.startsWith('{') ? (JSON.parse(last) as { seconds: number }).seconds : null;
  return { wall, inProcess };
}

const rows: Record<string, { wall: number[]; inProcess: number[] }> = {};
const record = (name: string, r: { wall: number; inProcess: number | null }) => {
  rows[name] ??= { wall: [], inProcess: [] };
  rows[name]!.wall.push(r.wall);
  if (r.inProcess !== null) rows[name]!.inProcess.push(r.inProcess);
};
const load0 = loadavg()[0]!;
try {
  for (let run = 0; run < runs; run++) {
    const dir = join(work, 'export');
    rmSync(dir, { recursive: true, force: true });
    cpSync(values.export, dir, { recursive: true });
    const cf =
      values['compact-fraction'] === undefined ? [] : ['--compact-fraction', values['compact-fraction']];
    record(`index add ${n}`, kdrec(['index', 'add', '--export', dir, '--items', addA, '--json', ...cf]));
    record(
      `index remove ${n}`,
      kdrec(['index', 'remove', '--export', dir, '--ids-file', removeFile, '--json', ...cf]),
    );
    record(
      `index add ${n} (again)`,
      kdrec(['index', 'add', '--export', dir, '--items', addB, '--json', ...cf]),
    );
    record('index compact', kdrec(['index', 'compact', '--export', dir]));
    rmSync(dir, { recursive: true, force: true });
    cpSync(values.export, dir, { recursive: true });
    record('index build --no-tune (full)', kdrec(['index', 'build', '--export', dir, '--no-tune']));
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? null : Number(s[Math.floor(s.length / 2)]!.toFixed(2));
};
for (const [name, r] of Object.entries(rows)) {
  process.stdout.write(
    `${JSON.stringify({ step: name, medianWallS: median(r.wall), medianInProcessS: median(r.inProcess), wallS: r.wall.map((x) => Number(x.toFixed(2))) })}\n`,
  );
}
process.stdout.write(`${JSON.stringify({ loadAverageBefore: load0, loadAverageAfter: loadavg()[0] })}\n`);
