import { readUserFile, writeFileAtomic } from './atomic.js';
import { UserError } from './errors.js';
import { dtypeOf, type DType, type Tensor, type TypedArray } from './safetensors.js';

/** numpy dtype descriptors (little-endian) for the safetensors dtypes. */
const DESCR: Record<DType, string> = {
  F64: '<f8', F32: '<f4', I64: '<i8', I32: '<i4', I16: '<i2', I8: '|i1', U8: '|u1', U16: '<u2', U32: '<u4',
};
const FROM_DESCR = new Map(Object.entries(DESCR).map(([k, v]) => [v, k as DType]));
FROM_DESCR.set('<u1', 'U8').set('<i1', 'I8').set('|b1', 'U8');

const CTORS: Record<DType, new (b: ArrayBuffer) => TypedArray> = {
  F64: Float64Array, F32: Float32Array, I64: BigInt64Array, I32: Int32Array, I16: Int16Array,
  I8: Int8Array, U8: Uint8Array, U16: Uint16Array, U32: Uint32Array,
};

/** Parses a numpy `.npy` file (format 1.0-3.0, C order, little-endian). `source` names it in errors. */
export function decodeNpy(bytes: Uint8Array, source = 'npy data'): Tensor {
  const fail = (why: string): never => {
    throw new UserError(`${source}: not a readable .npy file (${why})`);
  };
  if (bytes.length < 10 || Buffer.from(bytes.subarray(0, 6)).toString('latin1') !== '\x93NUMPY') fail('bad magic');
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = Buffer.from(bytes.subarray(headerStart, headerStart + headerLen)).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) return fail('bad header');
  if (fortran === 'True') fail('Fortran-ordered arrays are not supported; save with np.ascontiguousarray');
  const dtype = FROM_DESCR.get(descr);
  if (!dtype) return fail(`unsupported dtype ${descr}`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const start = headerStart + headerLen;
  const ctor = CTORS[dtype];
  const byteLength = count * (ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  if (bytes.length - start < byteLength) fail(`truncated: expected ${byteLength} data bytes, found ${bytes.length - start}`);
  const copy = new Uint8Array(byteLength);
  copy.set(bytes.subarray(start, start + byteLength));
  return { dtype, shape, data: new ctor(copy.buffer) };
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
