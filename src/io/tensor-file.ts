import { open, type FileHandle } from 'node:fs/promises';
import { extname } from 'node:path';
import { cannotRead, UserError } from './errors.js';
import { NPY_PREFIX_BYTES, npyHeaderEnd, parseNpyHeader } from './npy.js';
import { parseSafetensorsHeader, safetensorsHeaderLength, type DType } from './safetensors.js';

/**
 * One tensor of a `.npy` or `.safetensors` file, open for reading in byte ranges: inputs larger than memory
 * (a 1,600 × 3 × 512² float32 heatmap file is 5 GB) are read piece by piece into buffers the caller reuses.
 */
export interface TensorFileReader {
  readonly path: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** The safetensors `__metadata__` map ({} for .npy). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Fills `into` with the tensor's data bytes from byte `start` of the tensor on. */
  read(into: Uint8Array, start: number): Promise<void>;
  close(): Promise<void>;
}

/** Picks a tensor of a safetensors file by its names (a UserError when none fits). */
export type TensorPicker = (names: readonly string[]) => string;

/**
 * Opens the array of a `.npy` file or one tensor of a `.safetensors` file (chosen by `pick` among the names),
 * reading and checking only its header. Unreadable or malformed files are one-line UserErrors naming `path`.
 */
export async function openTensorFile(path: string, pick: TensorPicker): Promise<TensorFileReader> {
  const ext = extname(path).toLowerCase();
  if (ext !== '.npy' && ext !== '.safetensors') throw new UserError(`${path}: unsupported file type "${ext}" (use .npy or .safetensors)`);
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw cannotRead(path, err);
  }
  try {
    const size = (await handle.stat()).size;
    const readAt = async (position: number, length: number): Promise<Uint8Array> => {
      const bytes = new Uint8Array(Math.max(0, Math.min(length, size - position)));
      await readFully(handle, path, bytes, position);
      return bytes;
    };
    let layout: { dtype: DType; shape: number[]; offset: number; byteLength: number; metadata: Record<string, string> };
    if (ext === '.npy') {
      const prefix = await readAt(0, NPY_PREFIX_BYTES);
      const header = await readAt(0, npyHeaderEnd(prefix, path));
      const npy = parseNpyHeader(header, size, path);
      layout = { dtype: npy.dtype, shape: npy.shape, offset: npy.dataOffset, byteLength: npy.byteLength, metadata: {} };
    } else {
      const length = safetensorsHeaderLength(await readAt(0, 8), size, path);
      const header = parseSafetensorsHeader(await readAt(8, length), size, path);
      const name = pick(Object.keys(header.entries));
      const entry = header.entries[name]!;
      layout = {
        dtype: entry.dtype, shape: entry.shape, offset: header.dataStart + entry.begin, byteLength: entry.end - entry.begin,
        metadata: header.metadata,
      };
    }
    return {
      path, dtype: layout.dtype, shape: layout.shape, metadata: layout.metadata,
      read: async (into, start) => {
        if (start < 0 || start + into.byteLength > layout.byteLength) throw new Error(`${path}: read past the tensor's data`);
        await readFully(handle, path, into, layout.offset + start);
      },
      close: () => handle.close(),
    };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** Reads until `into` is full (a read may return fewer bytes); a file that ends early is a UserError. */
async function readFully(handle: FileHandle, path: string, into: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < into.byteLength) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(into, done, into.byteLength - done, position + done));
    } catch (err) {
      throw cannotRead(path, err);
    }
    if (bytesRead === 0) throw new UserError(`${path}: file ended early (truncated while being read?)`);
    done += bytesRead;
  }
}
