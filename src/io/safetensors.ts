import { readUserFile, writeFileAtomic } from './atomic.js';
import { UserError } from './errors.js';

/** safetensors dtype names (https://github.com/huggingface/safetensors) that fiveband reads and writes. */
export type DType = 'F64' | 'F32' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'U16' | 'U32';

export type TypedArray =
  | Float64Array | Float32Array | BigInt64Array | Int32Array | Int16Array | Int8Array
  | Uint8Array | Uint16Array | Uint32Array;

export interface Tensor {
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

export interface SafetensorsFile {
  tensors: Record<string, Tensor>;
  /** The `__metadata__` map: string keys to string values, as the format requires. */
  metadata: Record<string, string>;
}

const CTORS = {
  F64: Float64Array, F32: Float32Array, I64: BigInt64Array, I32: Int32Array, I16: Int16Array,
  I8: Int8Array, U8: Uint8Array, U16: Uint16Array, U32: Uint32Array,
} as const;

export function bytesPerElement(dtype: DType): number {
  return CTORS[dtype].BYTES_PER_ELEMENT;
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * The `byteLength` bytes of `bytes` from `offset` as a typed array of `dtype`: a view where the alignment allows,
 * else a copy (a view must start at a multiple of the element size).
 */
export function typedView(dtype: DType, bytes: Uint8Array, offset: number, byteLength: number): TypedArray {
  const ctor = CTORS[dtype];
  const start = bytes.byteOffset + offset;
  if (start % ctor.BYTES_PER_ELEMENT === 0) return new ctor(bytes.buffer as ArrayBuffer, start, byteLength / ctor.BYTES_PER_ELEMENT);
  // Uint8Array's slice copies (a Buffer's would return another view on the same memory).
  return new ctor(Uint8Array.prototype.slice.call(bytes, offset, offset + byteLength).buffer);
}

/** The safetensors dtype of a typed array. */
export function dtypeOf(data: TypedArray): DType {
  for (const [name, ctor] of Object.entries(CTORS)) if (data instanceof ctor) return name as DType;
  throw new Error('unsupported typed array');
}

/**
 * Serialises tensors as safetensors bytes, in key order, with an 8-byte aligned header.
 * Returned as parts so large tensors are written without being copied into one buffer.
 */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array[] {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const names = Object.keys(tensors);
  for (const name of names) {
    const t = tensors[name]!;
    if (dtypeOf(t.data) !== t.dtype) throw new Error(`tensor ${name}: data is not ${t.dtype}`);
    if (elementCount(t.shape) !== t.data.length) {
      throw new Error(`tensor ${name}: shape [${t.shape}] does not hold ${t.data.length} values`);
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.length));
  return [prefix, headerBytes, ...names.map((n) => {
    const d = tensors[n]!.data;
    return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  })];
}

/** One tensor's entry in a safetensors header: dtype, shape and its byte range within the data section. */
export interface SafetensorsEntry {
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

/** A parsed safetensors header: the tensors' entries (in header order) and the `__metadata__` map. */
export interface SafetensorsHeader {
  entries: Record<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** Byte offset of the data section from the start of the file (8 + the header's length). */
  dataStart: number;
}

/** Largest header fiveband reads (the format's own readers refuse headers over 100 MB). */
export const MAX_SAFETENSORS_HEADER = 100_000_000;

/** The header length from a safetensors file's first 8 bytes; `fileLength` bounds it. */
export function safetensorsHeaderLength(prefix: Uint8Array, fileLength: number, source = 'safetensors data'): number {
  if (prefix.length < 8 || fileLength < 8) throw new UserError(`${source}: not a valid safetensors file (shorter than its 8-byte header length)`);
  const length = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (length > BigInt(Math.min(fileLength - 8, MAX_SAFETENSORS_HEADER))) throw new UserError(`${source}: not a valid safetensors file (truncated header)`);
  return Number(length);
}

/**
 * Parses and checks a safetensors header (the JSON after the 8-byte length) for a file of `fileLength` bytes:
 * supported dtypes, shapes of non-negative integers, byte ranges that match the shapes, lie in the file, do not
 * overlap and cover the data section exactly, string metadata.
 */
export function parseSafetensorsHeader(json: Uint8Array, fileLength: number, source = 'safetensors data'): SafetensorsHeader {
  const fail = (why: string): never => {
    throw new UserError(`${source}: not a valid safetensors file (${why})`);
  };
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString('utf8'));
  } catch {
    return fail('header is not JSON');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) return fail('header is not an object');
  const duplicate = firstDuplicateKey(Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString('utf8'));
  if (duplicate !== null) fail(`header names "${duplicate}" twice`);
  const dataStart = 8 + json.byteLength;
  const dataLength = fileLength - dataStart;
  const metadata: Record<string, string> = {};
  const entries: Record<string, SafetensorsEntry> = {};
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('__metadata__ is not an object of strings');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`metadata ${k} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const entry = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (!entry || typeof entry !== 'object' || typeof entry.dtype !== 'string' || !(entry.dtype in CTORS)) fail(`tensor ${name} has unsupported dtype ${String(entry?.dtype)}`);
    const dtype = entry!.dtype as DType;
    const shape = entry!.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`tensor ${name} has a bad shape`);
    const offsets = entry!.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2) fail(`tensor ${name} has bad data_offsets`);
    const [begin, end] = offsets as [number, number];
    if (!(Number.isSafeInteger(begin) && Number.isSafeInteger(end) && begin >= 0 && end >= begin)) fail(`tensor ${name} has bad data_offsets`);
    if (end > dataLength) fail(`tensor ${name} runs past the end of the file (truncated?)`);
    if (end - begin !== elementCount(shape as number[]) * CTORS[dtype].BYTES_PER_ELEMENT) fail(`tensor ${name}: size does not match shape`);
    entries[name] = { dtype, shape: shape as number[], begin, end };
  }
  let covered = 0;
  for (const [name, { begin, end }] of Object.entries(entries).sort(([, a], [, b]) => a.begin - b.begin || a.end - b.end)) {
    if (begin < covered) fail(`tensor ${name} overlaps another tensor's data`);
    if (begin > covered) fail(`${begin - covered} bytes of data not covered by the header`);
    covered = end;
  }
  if (covered !== dataLength) fail(`${dataLength - covered} bytes of data not covered by the header`);
  return { entries, metadata, dataStart };
}

/**
 * The first key that a JSON object's text (already known to parse) lists twice at its top level, or null:
 * JSON.parse silently keeps the last, so a header could hide a tensor entry behind another.
 */
function firstDuplicateKey(text: string): string | null {
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      let k = j + 1;
      while (k < text.length && ' \t\n\r'.includes(text[k]!)) k++;
      if (depth === 1 && text[k] === ':') {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (seen.has(key)) return key;
        seen.add(key);
      }
      i = j;
    }
  }
  return null;
}

/**
 * Parses safetensors bytes; `source` names the file in errors. Tensors are views on `bytes` where their
 * alignment allows (writers pad the header to 8 bytes), else copies.
 */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors data'): SafetensorsFile {
  const headerLength = safetensorsHeaderLength(bytes, bytes.length, source);
  const { entries, metadata, dataStart } = parseSafetensorsHeader(bytes.subarray(8, 8 + headerLength), bytes.length, source);
  const tensors: Record<string, Tensor> = {};
  for (const [name, { dtype, shape, begin, end }] of Object.entries(entries)) {
    tensors[name] = { dtype, shape, data: typedView(dtype, bytes, dataStart + begin, end - begin) };
  }
  return { tensors, metadata };
}

export async function writeSafetensors(path: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  return decodeSafetensors(await readUserFile(path), path);
}
