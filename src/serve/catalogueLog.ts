/**
 * The catalogue's append log: `kdrec index add/remove` append one record per update to
 * `DIR/catalogue.r<revision>.log` instead of rewriting the item table and the HNSW graph (O(N) bytes
 * per update: 660 MB at 1M items); loaders apply the log on top of the revision's files, and
 * compaction (`kdrec index compact`, or automatically once the log changes more than a tenth of the
 * base catalogue) folds it into revision r + 1 the way every update used to (./annIndex.ts).
 * The write-ahead log of a log-structured store (O'Neil et al., "The Log-Structured Merge-Tree",
 * Acta Informatica 1996): small appends, a periodic merge.
 *
 * Frame: magic 'KDLG' (u32 LE), payload length (u32), CRC-32 of the payload (u32), payload.
 * Payload: JSON length (u32), the JSON (header or update), zero padding to 4 bytes, then the update's
 * item vectors as F32 LE `[rows, dim]`. The first record is a header naming the export (createdAt)
 * and revision the log belongs to, so a log left over from another export in the same directory is
 * refused, never applied. Each append is one write + fsync while the update lock is held. A crash
 * mid-append leaves a torn tail (short frame, bad magic or checksum): readers apply the records
 * before it and warn; the next append truncates it first. A record is therefore applied wholly or
 * not at all.
 *
 * An update record carries what it changes, already encoded: the catalogue rows it writes (new ids
 * get rows past the end, a known id its row back), the encoded item columns and the item-tower
 * vectors of those rows, and the rows it removes. Applying is a scatter into the arrays; rows never
 * move, because rows are the index's keys.
 */
import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Columns } from '../data/batch.js';

const MAGIC = 0x474c444b; // 'KDLG' little-endian
const FRAME_HEADER = 12;

export interface LogHeader {
  type: 'header';
  exportCreatedAt: string;
  revision: number;
  /** Rows of the revision's item table. */
  itemCount: number;
  dim: number;
}

export interface LogUpdate {
  type: 'update';
  /** Raw ids of the rows written, and their rows. */
  ids: string[];
  rows: number[];
  removeRows: number[];
  /** Encoded columns of the written rows (the item table's fields); seq ids are `[rows, maxLen]`. */
  cat: Record<string, number[]>;
  num: Record<string, number[]>;
  seq: Record<string, number[]>;
}

export interface LoggedUpdate extends LogUpdate {
  vectors: Float32Array;
}

export interface CatalogueLog {
  path: string;
  header: LogHeader;
  updates: LoggedUpdate[];
  /** Byte length of the valid prefix (header + whole records). */
  validBytes: number;
  /** Bytes after the valid prefix: a torn tail (0: none). */
  tornBytes: number;
}

/** The log file of revision `r`. */
export function catalogueLogFile(revision: number): string {
  return `catalogue.r${revision}.log`;
}

export const CATALOGUE_LOG_PATTERN = /^catalogue\.r\d+\.log$/;

function frame(json: object, vectors: Float32Array | null): Buffer {
  const text = Buffer.from(JSON.stringify(json), 'utf8');
  const pad = (4 - ((4 + text.length) % 4)) % 4;
  const vecBytes = vectors === null ? 0 : vectors.byteLength;
  const payload = Buffer.alloc(4 + text.length + pad + vecBytes);
  payload.writeUInt32LE(text.length, 0);
  text.copy(payload, 4);
  if (vectors !== null)
    Buffer.from(vectors.buffer, vectors.byteOffset, vectors.byteLength).copy(payload, 4 + text.length + pad);
  const head = Buffer.alloc(FRAME_HEADER);
  head.writeUInt32LE(MAGIC, 0);
  head.writeUInt32LE(payload.length, 4);
  head.writeUInt32LE(crc32(payload), 8);
  return Buffer.concat([head, payload]);
}

/**
 * Reads the log of the manifest's revision, or null when there is none. A torn tail is reported in
 * `tornBytes` (and warned about once per read); a header for another export or revision throws.
 */
export function readCatalogueLog(
  dir: string,
  m: { createdAt: string; revision?: number | undefined; itemCount: number; dim: number },
  bytes?: Buffer,
): CatalogueLog | null {
  const revision = m.revision ?? 0;
  const path = join(dir, catalogueLogFile(revision));
  if (bytes === undefined) {
    if (!existsSync(path)) return null;
    bytes = readFileSync(path);
  }
  let at = 0;
  let header: LogHeader | null = null;
  const updates: LoggedUpdate[] = [];
  let torn = '';
  while (at < bytes.length) {
    if (bytes.length - at < FRAME_HEADER) {
      torn = 'a short frame header';
      break;
    }
    const len = bytes.readUInt32LE(at + 4);
    if (bytes.readUInt32LE(at) !== MAGIC) {
      torn = 'a bad frame marker';
      break;
    }
    if (bytes.length - at - FRAME_HEADER < len) {
      torn = `a frame of ${len} bytes with ${bytes.length - at - FRAME_HEADER} written`;
      break;
    }
    const payload = bytes.subarray(at + FRAME_HEADER, at + FRAME_HEADER + len);
    if (crc32(payload) !== bytes.readUInt32LE(at + 8)) {
      torn = 'a checksum mismatch';
      break;
    }
    const jsonLen = payload.readUInt32LE(0);
    const json = JSON.parse(payload.subarray(4, 4 + jsonLen).toString('utf8')) as LogHeader | LogUpdate;
    const vecAt = 4 + jsonLen + ((4 - ((4 + jsonLen) % 4)) % 4);
    if (header === null) {
      if (json.type !== 'header') throw new Error(`${path}: the first record is not a log header`);
      if (json.exportCreatedAt !== m.createdAt || json.revision !== revision || json.dim !== m.dim)
        throw new Error(
          `${path}: the log belongs to the export of ${json.exportCreatedAt} revision ${json.revision} (dim ${json.dim}), manifest.json is the export of ${m.createdAt} revision ${revision} (dim ${m.dim}); delete the log or restore its export`,
        );
      header = json;
    } else {
      if (json.type !== 'update') throw new Error(`${path}: record at byte ${at} is not an update`);
      const vec = payload.subarray(vecAt);
      // Copy: the payload's offset in the file need not be 4-byte aligned.
      const vectors = new Float32Array(vec.length / 4);
      Buffer.from(vectors.buffer).set(vec);
      if (vectors.length !== json.rows.length * m.dim)
        throw new Error(
          `${path}: record at byte ${at} has ${vectors.length} vector values for ${json.rows.length} rows`,
        );
      updates.push({ ...json, vectors });
    }
    at += FRAME_HEADER + len;
  }
  if (header === null) {
    if (torn !== '') {
      process.emitWarning(`${path}: the log header itself is torn (${torn}); no logged update is applied`);
      return { path, header: headerFor(m), updates: [], validBytes: 0, tornBytes: bytes.length };
    }
    return null;
  }
  if (torn !== '')
    process.emitWarning(
      `${path}: torn tail of ${bytes.length - at} bytes after ${updates.length} whole update record(s) (${torn}: an interrupted \`kdrec index add/remove\`); the records before it are applied, the tail is ignored`,
    );
  return { path, header, updates, validBytes: at, tornBytes: bytes.length - at };
}

function headerFor(m: {
  createdAt: string;
  revision?: number | undefined;
  itemCount: number;
  dim: number;
}): LogHeader {
  return {
    type: 'header',
    exportCreatedAt: m.createdAt,
    revision: m.revision ?? 0,
    itemCount: m.itemCount,
    dim: m.dim,
  };
}

/**
 * Appends one update to the manifest's revision's log (creating it with its header), after cutting
 * off a torn tail; fsyncs before returning. The caller holds the update lock.
 */
export function appendCatalogueLog(
  dir: string,
  m: { createdAt: string; revision?: number | undefined; itemCount: number; dim: number },
  update: LogUpdate,
  vectors: Float32Array,
): { truncatedBytes: number } {
  const log = readCatalogueLog(dir, m);
  const path = join(dir, catalogueLogFile(m.revision ?? 0));
  const fd = openSync(path, existsSync(path) ? 'r+' : 'w');
  try {
    let end = log?.validBytes ?? 0;
    if (log !== null && log.tornBytes > 0) ftruncateSync(fd, end);
    const parts: Buffer[] = [];
    if (end === 0) parts.push(frame(headerFor(m), null));
    parts.push(frame(update, vectors));
    const buf = Buffer.concat(parts);
    writeSync(fd, buf, 0, buf.length, end);
    end += buf.length;
    fsyncSync(fd);
    return { truncatedBytes: log?.tornBytes ?? 0 };
  } finally {
    closeSync(fd);
  }
}

/** What applying a log changed, relative to the revision's files (for the index and compaction). */
export interface CatalogueDelta {
  /** Rows of the revision's files. */
  baseItemCount: number;
  /** Rows whose vector differs from the revision's files (added or replaced), ascending. */
  changedRows: Int32Array;
  /** Update records applied. */
  records: number;
  /** Rows written or removed by the log: the compaction threshold counts these. */
  touchedRows: number;
  /** Live rows of the revision's files (what its saved graph holds). */
  baseLiveCount: number;
  /** Of those, rows the log removed or rewrote: the saved graph must not return them. */
  graphHidden: number;
}

/** The item table a loader holds, which `applyCatalogueLog` updates. */
export interface ItemTable {
  itemIds: string[];
  items: Columns;
  vectors: Float32Array;
  /** Null: all live. */
  live: Uint8Array | null;
}

/** Applies a log's updates to a revision's item table (new arrays; the inputs are not changed). */
export function applyCatalogueLog(
  table: ItemTable,
  dim: number,
  log: CatalogueLog,
): { table: ItemTable; delta: CatalogueDelta } {
  const N0 = table.itemIds.length;
  let N = N0;
  for (const u of log.updates) for (const r of u.rows) N = Math.max(N, r + 1);
  const itemIds = table.itemIds.slice();
  const vectors = new Float32Array(N * dim);
  vectors.set(table.vectors);
  const live = new Uint8Array(N);
  if (table.live === null) live.fill(1, 0, N0);
  else live.set(table.live);
  const items = growColumns(table.items, N);
  const changed = new Uint8Array(N);
  const touched = new Set<number>();
  for (const u of log.updates) {
    for (const r of u.removeRows) {
      live[r] = 0;
      touched.add(r);
    }
    u.rows.forEach((r, i) => {
      itemIds[r] = u.ids[i]!;
      vectors.set(u.vectors.subarray(i * dim, (i + 1) * dim), r * dim);
      live[r] = 1;
      changed[r] = 1;
      touched.add(r);
      for (const [k, c] of Object.entries(items.cat)) c[r] = u.cat[k]?.[i] ?? 0;
      for (const [k, c] of Object.entries(items.num)) c[r] = u.num[k]?.[i] ?? 0;
      for (const [k, c] of Object.entries(items.seq)) {
        const L = c.maxLen;
        for (let j = 0; j < L; j++) c.ids[r * L + j] = u.seq[k]?.[i * L + j] ?? -1;
      }
    });
  }
  const changedRows: number[] = [];
  for (let r = 0; r < N; r++) if (changed[r]) changedRows.push(r);
  let baseLiveCount = 0;
  let graphHidden = 0;
  for (let r = 0; r < N0; r++) {
    if (table.live !== null && !table.live[r]) continue;
    baseLiveCount++;
    if (!live[r] || changed[r]) graphHidden++;
  }
  return {
    table: { itemIds, items, vectors, live },
    delta: {
      baseItemCount: N0,
      changedRows: Int32Array.from(changedRows),
      records: log.updates.length,
      touchedRows: touched.size,
      baseLiveCount,
      graphHidden,
    },
  };
}

/**
 * Window keys (`[rows, K]`, the export's rank keys) with no keys for the rows the log wrote: the
 * export has no code table for raw key values, so an added item's category/shop cannot be coded as
 * the training data coded them, and a replaced item's old keys may be wrong. Its privileged window
 * counts are therefore 0 (as for an item outside the catalogue offline); /recommend flags such items.
 */
export function withoutLoggedKeys(
  keys: Int32Array,
  K: number,
  rows: number,
  delta: CatalogueDelta,
): Int32Array {
  const out = new Int32Array(rows * K).fill(-1);
  out.set(keys.subarray(0, Math.min(keys.length, rows * K)));
  for (const r of delta.changedRows) out.fill(-1, r * K, (r + 1) * K);
  return out;
}

/** Columns of `base` copied into `size` rows (new rows: missing values: 0, −1 for list ids). */
export function growColumns(base: Columns, size: number): Columns {
  const out: Columns = { size, cat: {}, seq: {}, num: {}, labels: {}, extra: {} };
  for (const [k, v] of Object.entries(base.cat)) {
    const c = new Int32Array(size);
    c.set(v);
    out.cat[k] = c;
  }
  for (const [k, v] of Object.entries(base.num)) {
    const c = new Float32Array(size);
    c.set(v);
    out.num[k] = c;
  }
  for (const [k, v] of Object.entries(base.seq)) {
    const c = new Int32Array(size * v.maxLen).fill(-1);
    c.set(v.ids);
    out.seq[k] = { ids: c, maxLen: v.maxLen };
  }
  return out;
}
