/**
 * The safetensors file format (https://github.com/huggingface/safetensors), so that Python's
 * `safetensors` / PyTorch open kdrec checkpoints directly:
 *
 *   [8 bytes: N, little-endian u64][N bytes: JSON header][raw little-endian tensor bytes]
 *
 * The header maps each tensor name to {dtype, shape, data_offsets: [begin, end]} (offsets relative
 * to the start of the data section) plus an optional "__metadata__" map of string → string. As in
 * the reference Rust writer, the header is padded with spaces so the data section starts at an
 * 8-byte boundary, and tensors are laid out contiguously in header order.
 * Writes are atomic: a temp file in the same directory, fsync, then rename over the target.
 */
import {
  closeSync,
  fstatSync,
  fsyncSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { endianness } from 'node:os';

export type SafetensorsDtype = 'F32' | 'I32' | 'F64' | 'I64';
export type SafetensorsData = Float32Array | Int32Array | Float64Array | BigInt64Array;

export interface SafetensorsTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: SafetensorsData;
}

export interface SafetensorsFile {
  tensors: Record<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, I32: 4, F64: 8, I64: 8 };
/** The reference reader refuses headers above 100 MB; so do we (a corrupt length is caught early). */
const MAX_HEADER = 100_000_000;

function checkHost(): void {
  // The format is little-endian; kdrec writes typed-array memory directly, so it needs an LE host.
  if (endianness() !== 'LE') throw new Error('safetensors: kdrec needs a little-endian host');
}

function expectedCtor(dtype: SafetensorsDtype): string {
  return { F32: 'Float32Array', I32: 'Int32Array', F64: 'Float64Array', I64: 'BigInt64Array' }[dtype];
}

/** Builds the padded header bytes for the given tensors (exported for the byte-layout test). */
export function encodeHeader(
  tensors: Record<string, SafetensorsTensor>,
  metadata?: Record<string, string>,
  where = 'safetensors',
): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string')
        throw new Error(`${where}: metadata '${k}' must be a string, got ${typeof v}`);
    }
    header['__metadata__'] = metadata;
  }
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '__metadata__')
      throw new Error(`${where}: '__metadata__' is reserved and cannot name a tensor`);
    const bytes = BYTES[t.dtype];
    if (bytes === undefined)
      throw new Error(`${where}: tensor '${name}' has unknown dtype '${String(t.dtype)}'`);
    if (t.data.constructor.name !== expectedCtor(t.dtype)) {
      throw new Error(
        `${where}: tensor '${name}' is ${t.dtype} but its data is a ${t.data.constructor.name}`,
      );
    }
    let n = 1;
    for (const d of t.shape) {
      if (!Number.isInteger(d) || d < 0)
        throw new Error(`${where}: tensor '${name}' has invalid shape [${t.shape}]`);
      n *= d;
    }
    if (n !== t.data.length) {
      throw new Error(
        `${where}: tensor '${name}' shape [${t.shape}] needs ${n} values, data has ${t.data.length}`,
      );
    }
    const end = offset + n * bytes;
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, end] };
    offset = end;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Buffer.alloc(Math.ceil(json.length / 8) * 8, 0x20);
  json.copy(padded);
  return padded;
}

export function writeSafetensors(
  path: string,
  tensors: Record<string, SafetensorsTensor>,
  metadata?: Record<string, string>,
): void {
  checkHost();
  const header = encodeHeader(tensors, metadata, path);
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const fd = openSync(tmp, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    writeAll(fd, len);
    writeAll(fd, header);
    for (const t of Object.values(tensors)) {
      // A view of the typed array's own memory: no copy, even for SharedArrayBuffer-backed params.
      writeAll(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // the temp file may not exist; the original error is what matters
    }
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, Math.min(bytes.length - off, 1 << 28));
}

function readExactly(fd: number, buf: Uint8Array, position: number, path: string, what: string): void {
  let off = 0;
  while (off < buf.length) {
    const n = readSync(fd, buf, off, buf.length - off, position + off);
    if (n === 0) throw new Error(`${path}: unexpected end of file while reading ${what}`);
    off += n;
  }
}

interface TensorEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/** Validates the 8-byte header length against the file size; returns it. */
function headerLength(path: string, size: number, lenBuf: Buffer): number {
  const n64 = lenBuf.readBigUInt64LE(0);
  if (n64 > BigInt(size - 8) || n64 > BigInt(MAX_HEADER)) {
    throw new Error(
      `${path}: header length ${n64} exceeds the file size (${size} bytes) — corrupt or not safetensors`,
    );
  }
  return Number(n64);
}

/** Parses and validates the JSON header: tensor entries (tiling the data section) and metadata. */
function parseLayout(
  path: string,
  size: number,
  n: number,
  headerBuf: Buffer,
): { dataStart: number; entries: TensorEntry[]; metadata: Record<string, string> } {
  let header: unknown;
  try {
    header = JSON.parse(headerBuf.toString('utf8'));
  } catch (err) {
    throw new Error(`${path}: header is not valid JSON (${(err as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new Error(`${path}: header must be a JSON object`);
  }
  const dataStart = 8 + n;
  const dataLen = size - dataStart;
  const metadata: Record<string, string> = {};
  const entries: TensorEntry[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
        throw new Error(`${path}: __metadata__ must be an object of strings`);
      }
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string')
          throw new Error(`${path}: __metadata__.${k} must be a string, got ${typeof v}`);
        metadata[k] = v;
      }
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (info === null || typeof info !== 'object')
      throw new Error(`${path}: tensor '${name}': entry must be an object`);
    const dtype = info.dtype as SafetensorsDtype;
    if (typeof dtype !== 'string' || !(dtype in BYTES)) {
      throw new Error(
        `${path}: tensor '${name}': unsupported dtype ${JSON.stringify(info.dtype)} (expected F32, I32, F64 or I64)`,
      );
    }
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new Error(
        `${path}: tensor '${name}': shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`,
      );
    }
    const offs = info.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0)) {
      throw new Error(
        `${path}: tensor '${name}': data_offsets must be [begin, end], got ${JSON.stringify(offs)}`,
      );
    }
    const [begin, end] = offs as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== count * BYTES[dtype]) {
      throw new Error(
        `${path}: tensor '${name}': data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but ${dtype} [${shape}] needs ${count * BYTES[dtype]}`,
      );
    }
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }
  // The reference reader requires the tensors to tile the data section exactly, with no gaps.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expect = 0;
  for (const e of sorted) {
    if (e.begin !== expect) {
      throw new Error(
        `${path}: tensor '${e.name}': data starts at ${e.begin}, expected ${expect} (offsets must be contiguous)`,
      );
    }
    expect = e.end;
  }
  if (expect !== dataLen) {
    throw new Error(
      `${path}: tensors cover ${expect} data bytes but the file has ${dataLen} (truncated or trailing bytes)`,
    );
  }
  return { dataStart, entries, metadata };
}

/** A typed array over a tensor's own bytes (the buffer is the tensor's alone, so it is aligned). */
function tensorOf(e: TensorEntry, bytes: Uint8Array): SafetensorsTensor {
  const count = bytes.byteLength / BYTES[e.dtype];
  const data =
    e.dtype === 'F32'
      ? new Float32Array(bytes.buffer, 0, count)
      : e.dtype === 'I32'
        ? new Int32Array(bytes.buffer, 0, count)
        : e.dtype === 'F64'
          ? new Float64Array(bytes.buffer, 0, count)
          : new BigInt64Array(bytes.buffer, 0, count);
  return { dtype: e.dtype, shape: e.shape, data };
}

/** Reads and validates a safetensors file. Every tensor gets its own (aligned) memory. */
export function readSafetensors(path: string): SafetensorsFile {
  checkHost();
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < 8)
      throw new Error(`${path}: not a safetensors file (${size} bytes; the 8-byte header length is missing)`);
    const lenBuf = Buffer.alloc(8);
    readExactly(fd, lenBuf, 0, path, 'the header length');
    const n = headerLength(path, size, lenBuf);
    const headerBuf = Buffer.alloc(n);
    readExactly(fd, headerBuf, 8, path, 'the header');
    const { dataStart, entries, metadata } = parseLayout(path, size, n, headerBuf);
    const tensors: Record<string, SafetensorsTensor> = {};
    for (const e of entries) {
      const bytes = new Uint8Array(e.end - e.begin);
      readExactly(fd, bytes, dataStart + e.begin, path, `tensor '${e.name}'`);
      tensors[e.name] = tensorOf(e, bytes);
    }
    return { tensors, metadata };
  } finally {
    closeSync(fd);
  }
}

async function readExactlyAsync(
  fh: FileHandle,
  buf: Uint8Array,
  position: number,
  path: string,
  what: string,
): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    // At most 256 MiB per read: one libuv request per chunk keeps a huge tensor off the event loop.
    const { bytesRead } = await fh.read(buf, off, Math.min(buf.length - off, 1 << 28), position + off);
    if (bytesRead === 0) throw new Error(`${path}: unexpected end of file while reading ${what}`);
    off += bytesRead;
  }
}

/**
 * `readSafetensors` with the reads on libuv's thread pool (fs.promises): a server reloading a large
 * export keeps answering requests while the bytes arrive. Same validation, same result.
 */
export async function readSafetensorsAsync(path: string): Promise<SafetensorsFile> {
  checkHost();
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    if (size < 8)
      throw new Error(`${path}: not a safetensors file (${size} bytes; the 8-byte header length is missing)`);
    const lenBuf = Buffer.alloc(8);
    await readExactlyAsync(fh, lenBuf, 0, path, 'the header length');
    const n = headerLength(path, size, lenBuf);
    const headerBuf = Buffer.alloc(n);
    await readExactlyAsync(fh, headerBuf, 8, path, 'the header');
    const { dataStart, entries, metadata } = parseLayout(path, size, n, headerBuf);
    const tensors: Record<string, SafetensorsTensor> = {};
    for (const e of entries) {
      const bytes = new Uint8Array(e.end - e.begin);
      await readExactlyAsync(fh, bytes, dataStart + e.begin, path, `tensor '${e.name}'`);
      tensors[e.name] = tensorOf(e, bytes);
    }
    return { tensors, metadata };
  } finally {
    await fh.close();
  }
}
