import { readUserFile, writeFileAtomic } from './atomic.js';
import { UserError } from './errors.js';
import { bytesPerElement, dtypeOf, typedView, type DType, type Tensor, type TypedArray } from './safetensors.js';

/** numpy dtype descriptors (little-endian) for the safetensors dtypes. */
const DESCR: Record<DType, string> = {
  F64: '<f8', F32: '<f4', I64: '<i8', I32: '<i4', I16: '<i2', I8: '|i1', U8: '|u1', U16: '<u2', U32: '<u4',
};
const FROM_DESCR = new Map(Object.entries(DESCR).map(([k, v]) => [v, k as DType]));
FROM_DESCR.set('<u1', 'U8').set('<i1', 'I8').set('|b1', 'U8');

/** Where a `.npy` file's array lies: its dtype and shape, and the byte range of its data in the file. */
export interface NpyLayout {
  dtype: DType;
  shape: number[];
  /** Byte offset of the data from the start of the file. */
  dataOffset: number;
  byteLength: number;
}

/** Bytes a reader needs from the start of a `.npy` file to know its header's length. */
export const NPY_PREFIX_BYTES = 12;

/**
 * Parses the header of a `.npy` file (format 1.0-3.0, C order, little-endian) from its first bytes: the prefix
 * alone tells how many (npyHeaderEnd), the whole header gives the layout. `fileLength` is the file's size, checked
 * against the data the header promises. `source` names the file in errors.
 */
export function parseNpyHeader(bytes: Uint8Array, fileLength: number, source = 'npy data'): NpyLayout {
  const fail = (why: string): never => {
    throw new UserError(`${source}: not a readable .npy file (${why})`);
  };
  const dataOffset = npyHeaderEnd(bytes, source);
  const headerStart = bytes[6] === 1 ? 10 : 12;
  if (bytes.length < dataOffset) fail('truncated header');
  const header = Buffer.from(bytes.subarray(headerStart, dataOffset)).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) return fail('bad header');
  if (fortran === 'True') fail('Fortran-ordered arrays are not supported; save with np.ascontiguousarray');
  const dtype = FROM_DESCR.get(descr);
  if (!dtype) return fail(`unsupported dtype ${descr}`);
  const dims = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (!dims.every((d) => /^\d+$/.test(d))) fail(`bad shape (${shapeText.trim()})`);
  const shape = dims.map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const byteLength = count * bytesPerElement(dtype);
  if (!Number.isSafeInteger(byteLength)) fail(`shape (${shapeText.trim()}) is too large`);
  if (fileLength - dataOffset < byteLength) fail(`truncated: expected ${byteLength} data bytes, found ${Math.max(0, fileLength - dataOffset)}`);
  return { dtype, shape, dataOffset, byteLength };
}

/** The offset where the data of a `.npy` file starts, from its first NPY_PREFIX_BYTES bytes (the header's end). */
export function npyHeaderEnd(prefix: Uint8Array, source = 'npy data'): number {
  if (prefix.length < 10 || Buffer.from(prefix.subarray(0, 6)).toString('latin1') !== '\x93NUMPY') {
    throw new UserError(`${source}: not a readable .npy file (bad magic)`);
  }
  if (prefix[6]! > 1 && prefix.length < 12) throw new UserError(`${source}: not a readable .npy file (truncated header)`);
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  const end = prefix[6] === 1 ? 10 + view.getUint16(8, true) : 12 + view.getUint32(8, true);
  // numpy's own loader refuses headers over 10,000 bytes; anything near this is a damaged file.
  if (end > MAX_NPY_HEADER) throw new UserError(`${source}: not a readable .npy file (header of ${end} bytes)`);
  return end;
}

const MAX_NPY_HEADER = 1 << 20;

/**
 * Parses a whole `.npy` file in memory. The array is a view on `bytes` where its alignment allows (the usual
 * case: numpy pads headers to 64 bytes), else a copy.
 */
export function decodeNpy(bytes: Uint8Array, source = 'npy data'): Tensor {
  const { dtype, shape, dataOffset, byteLength } = parseNpyHeader(bytes, bytes.length, source);
  return { dtype, shape, data: typedView(dtype, bytes, dataOffset, byteLength) };
}

/** Serialises a tensor as `.npy` (format 1.0). */
export function encodeNpy(data: TypedArray, shape: readonly number[]): Uint8Array[] {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${DESCR[dtypeOf(data)]}', 'fortran_order': False, 'shape': (${dims}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const prefix = Buffer.alloc(10);
  Buffer.from('\x93NUMPY', 'latin1').copy(prefix);
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  return [prefix, Buffer.from(header, 'latin1'), new Uint8Array(data.buffer, data.byteOffset, data.byteLength)];
}

export async function readNpy(path: string): Promise<Tensor> {
  return decodeNpy(await readUserFile(path), path);
}

export async function writeNpy(path: string, data: TypedArray, shape: readonly number[]): Promise<void> {
  await writeFileAtomic(path, encodeNpy(data, shape));
}
