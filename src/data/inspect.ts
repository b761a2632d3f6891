/**
 * A dataset summary for `kdrec data inspect`: row counts, label rates per split, and per feature
 * group (user, item, context, privileged) each field's kind, embedding-table size, distinct values
 * seen, and OOV / missing counts. Returned as data so the CLI prints it and tests assert on it.
 */
import type { LoadedDataset, SplitName } from './dataset.js';
import { FIELD_GROUPS, type FieldGroup } from './schema.js';

export interface FieldSummary {
  name: string;
  kind: string;
  /** Embedding table rows (OOV row included) for id fields. */
  tableSize?: number;
  /** Distinct non-OOV ids seen over all events (id fields). */
  distinct?: number;
  oov?: number;
  missing?: number;
  /** numeric: train-split mean/std of the raw values and the normalisation used. */
  normalize?: string;
  mean?: number;
  std?: number;
}

export interface DatasetSummary {
  name: string;
  rows: number;
  users: number;
  items: number;
  split: string;
  splitRows: Record<SplitName, number>;
  labelRates: Record<SplitName, Record<string, number>>;
  groups: Record<FieldGroup, FieldSummary[]>;
  skippedRows: number;
  /** Distinct users in the test split, and how many of them have no train event (cold start). */
  testUsers: number;
  coldTestUsers: number;
  fingerprint: string;
}

export function summarizeDataset(ds: LoadedDataset): DatasetSummary {
  const groups = Object.fromEntries(FIELD_GROUPS.map((g) => [g, [] as FieldSummary[]])) as Record<
    FieldGroup,
    FieldSummary[]
  >;
  const ev = ds.events.columns;
  for (const f of ds.schema.features) {
    const s: FieldSummary = { name: f.name, kind: f.kind };
    if (f.kind === 'numeric') {
      const st = ds.schema.numericStats(f.name);
      s.normalize = f.normalize;
      s.mean = st.mean;
      s.std = st.std;
    } else {
      s.tableSize = ds.schema.tableSize(f.table);
      const ids = f.kind === 'categorical' ? ev.cat[f.name]! : ev.seq[f.name]!.ids;
      const seen = new Uint8Array(s.tableSize);
      let distinct = 0;
      for (let i = 0; i < ids.length; i++) {
        const v = ids[i]!;
        if (v > 0 && !seen[v]) {
          seen[v] = 1;
          distinct++;
        }
      }
      s.distinct = distinct;
      s.oov = ds.stats.coverage[f.name]?.oov ?? 0;
      s.missing = ds.stats.coverage[f.name]?.missing ?? 0;
    }
    groups[f.group!].push(s);
  }
  const sp = ds.splitSpec;
  const inTrain = new Uint8Array(ds.stats.users);
  const inTest = new Uint8Array(ds.stats.users);
  for (let i = 0; i < ev.size; i++) {
    if (ds.split[i] === 0) inTrain[ev.userKey![i]!] = 1;
    else if (ds.split[i] === 2) inTest[ev.userKey![i]!] = 1;
  }
  let testUsers = 0;
  let coldTestUsers = 0;
  for (let u = 0; u < inTest.length; u++) {
    if (!inTest[u]) continue;
    testUsers++;
    if (!inTrain[u]) coldTestUsers++;
  }
  return {
    name: ds.name,
    rows: ds.stats.rows,
    users: ds.stats.users,
    items: ds.stats.items,
    split:
      sp.kind === 'time' ? `time ${sp.train}/${sp.valid}/${+(1 - sp.train - sp.valid).toFixed(6)}` : sp.kind,
    splitRows: ds.stats.splitRows,
    labelRates: ds.stats.labelRates,
    groups,
    skippedRows: ds.stats.reads.reduce((a, r) => a + r.skipped, 0),
    testUsers,
    coldTestUsers,
    fingerprint: ds.fingerprint.sha256,
  };
}

function fmt(x: number | undefined): string {
  if (x === undefined) return '';
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 1000 ? x.toFixed(0) : x.toPrecision(4);
}

/** Plain-text rendering. */
export function formatSummary(s: DatasetSummary): string {
  const out: string[] = [];
  out.push(`dataset   ${s.name}`);
  out.push(
    `rows      ${s.rows} events, ${s.users} users, ${s.items} items${s.skippedRows ? ` (${s.skippedRows} bad rows skipped)` : ''}`,
  );
  out.push(
    `split     ${s.split}: train ${s.splitRows.train}, valid ${s.splitRows.valid}, test ${s.splitRows.test}`,
  );
  out.push(`test users ${s.testUsers}, of which ${s.coldTestUsers} have no train event (cold start)`);
  const labels = Object.keys(s.labelRates.train);
  out.push('labels    (mean per split: train / valid / test)');
  for (const l of labels) {
    out.push(
      `  ${l.padEnd(22)} ${fmt(s.labelRates.train[l])} / ${fmt(s.labelRates.valid[l])} / ${fmt(s.labelRates.test[l])}`,
    );
  }
  for (const g of FIELD_GROUPS) {
    const fs = s.groups[g];
    out.push(`${g} fields (${fs.length})`);
    for (const f of fs) {
      if (f.kind === 'numeric') {
        out.push(
          `  ${f.name.padEnd(24)} numeric      normalize ${f.normalize}, raw train mean ${fmt(f.mean)} std ${fmt(f.std)}`,
        );
      } else {
        out.push(
          `  ${f.name.padEnd(24)} ${f.kind.padEnd(12)} table ${String(f.tableSize).padStart(7)}  distinct ${String(f.distinct).padStart(7)}  oov ${String(f.oov).padStart(6)}  missing ${f.missing}`,
        );
      }
    }
  }
  out.push(`sha256    ${s.fingerprint}`);
  return out.join('\n');
}
