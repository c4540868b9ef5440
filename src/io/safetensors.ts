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

/** Parses safetensors bytes; `source` names the file in errors. Tensors are copied into aligned arrays. */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors data'): SafetensorsFile {
  const fail = (why: string): never => {
    throw new UserError(`${source}: not a valid safetensors file (${why})`);
  };
  if (bytes.length < 8) fail('shorter than its 8-byte header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.length - 8) fail('truncated header');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, headerLength).toString('utf8'));
  } catch {
    return fail('header is not JSON');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header is not an object');
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors: Record<string, Tensor> = {};
  let covered = 0;
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`metadata ${k} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const entry = raw as { dtype?: string; shape?: unknown; data_offsets?: unknown };
    if (!entry || typeof entry.dtype !== 'string' || !(entry.dtype in CTORS)) fail(`tensor ${name} has unsupported dtype ${entry?.dtype}`);
    const dtype = entry.dtype as DType;
    const shape = entry.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`tensor ${name} has a bad shape`);
    const offsets = entry.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2) fail(`tensor ${name} has bad data_offsets`);
    const [begin, end] = offsets as [number, number];
    if (!(Number.isInteger(begin) && Number.isInteger(end) && begin >= 0 && end >= begin)) fail(`tensor ${name} has bad data_offsets`);
    if (end > dataLength) fail(`tensor ${name} runs past the end of the file (truncated?)`);
    const ctor = CTORS[dtype];
    if (end - begin !== elementCount(shape as number[]) * ctor.BYTES_PER_ELEMENT) fail(`tensor ${name}: size does not match shape`);
    const copy = new Uint8Array(end - begin);
    copy.set(bytes.subarray(dataStart + begin, dataStart + end));
    tensors[name] = { dtype, shape: shape as number[], data: new ctor(copy.buffer) };
    covered += end - begin;
  }
  if (covered !== dataLength) fail(`${dataLength - covered} bytes of data not covered by the header`);
  return { tensors, metadata };
}

export async function writeSafetensors(path: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  return decodeSafetensors(await readUserFile(path), path);
}
