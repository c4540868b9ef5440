import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { openDataset, SPLITS, type Split } from '../data/index.js';
import {
  bytesPerElement, cannotRead, openTensorFile, readUserFile, typedView, UserError, type DType, type Tensor, type TensorPicker,
} from '../io/index.js';
import { toTruthBands, type TruthData } from './bands.js';
import type { HeatmapBatch, TruthBatch } from './batch.js';

const TENSOR_EXTENSIONS = ['.npy', '.safetensors'];
/** Tensor names tried, in order, in a safetensors file holding several tensors. */
const HEATMAP_TENSOR_NAMES = ['heatmaps', 'attributions', 'attribution', 'heatmap'];
const TRUTH_TENSOR_NAMES = ['bands', 'ground_truth', 'truth', 'h0'];

/** Reads one array from a .npy file, or the named (or only, or conventionally named) tensor of a safetensors file. */
export async function readTensorFile(path: string, tensorName?: string, conventionalNames: readonly string[] = []): Promise<Tensor> {
  const reader = await openTensorFile(path, tensorPicker(path, tensorName, conventionalNames));
  try {
    const bytes = new Uint8Array(reader.shape.reduce((a, b) => a * b, 1) * bytesPerElement(reader.dtype));
    await reader.read(bytes, 0);
    return { dtype: reader.dtype, shape: [...reader.shape], data: typedView(reader.dtype, bytes, 0, bytes.byteLength) };
  } finally {
    await reader.close();
  }
}

/** The tensor `tensorName`, else the only one, else the first conventional name present; otherwise a UserError. */
function tensorPicker(path: string, tensorName: string | undefined, conventionalNames: readonly string[]): TensorPicker {
  return (names) => {
    const name = tensorName ?? (names.length === 1 ? names[0] : conventionalNames.find((n) => names.includes(n)));
    if (name === undefined || !names.includes(name)) {
      throw new UserError(`${path}: ${tensorName ? `no tensor "${tensorName}"` : 'several tensors'} (found: ${names.join(', ') || 'none'}); pick one with --tensor`);
    }
    return name;
  };
}

/** The .npy / .safetensors files of a folder in name order, or the path itself if it is a file. */
export async function tensorFilesAt(path: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw cannotRead(path, err);
  }
  if (!info.isDirectory()) return [path];
  const files = (await readdir(path)).filter((f) => TENSOR_EXTENSIONS.includes(extname(f).toLowerCase())).sort();
  if (files.length === 0) throw new UserError(`${path}: folder holds no .npy or .safetensors files`);
  return files.map((f) => join(path, f));
}

/**
 * What a heatmap file may say about its samples in its safetensors metadata (as `fiveband explain` writes):
 * JSON arrays `ids`, `labels` (true classes) and `predicted` (predicted classes), one entry per heatmap.
 */
export interface HeatmapFileInfo {
  ids: string[] | null;
  labels: number[] | null;
  predicted: number[] | null;
}

/**
 * An open heatmap file: float32 or float64, n×C×H×W (Captum's layout; C = 3 for images, 1 for mab) or n×H×W,
 * with what its metadata says about the samples; samples are read on demand, so memory does not grow with n.
 */
export interface HeatmapFile {
  file: string;
  n: number;
  channels: number;
  height: number;
  width: number;
  float64: boolean;
  info: HeatmapFileInfo;
  /** Reads samples first … first + count − 1 into `into` (count·C·H·W values of the file's dtype). */
  read(first: number, count: number, into: Float32Array | Float64Array): Promise<void>;
  close(): Promise<void>;
}

/** Opens one heatmap file (reading only its header); bad shapes, dtypes or metadata are one-line UserErrors. */
export async function openHeatmapFile(file: string, tensorName?: string): Promise<HeatmapFile> {
  const reader = await openTensorFile(file, tensorPicker(file, tensorName, HEATMAP_TENSOR_NAMES));
  try {
    if (reader.dtype !== 'F32' && reader.dtype !== 'F64') throw new UserError(`${file}: heatmaps must be float32 or float64, found ${reader.dtype}`);
    const { shape, metadata } = reader;
    if (shape.length !== 3 && shape.length !== 4) {
      throw new UserError(`${file}: heatmaps must be n×C×H×W or n×H×W, found shape [${shape.join(', ')}]`);
    }
    const [channels, height, width] = shape.length === 4 ? shape.slice(1) : [1, ...shape.slice(1)];
    const n = shape[0]!;
    if (n === 0 || channels === 0 || height === 0 || width === 0) throw new UserError(`${file}: holds no heatmaps (shape [${shape.join(', ')}])`);
    const list = <T>(key: string, valid: (v: unknown) => v is T): T[] | null => {
      if (metadata[key] === undefined) return null;
      let value: unknown;
      try {
        value = JSON.parse(metadata[key]!);
      } catch {
        value = null;
      }
      if (!Array.isArray(value) || value.length !== n || !value.every(valid)) {
        throw new UserError(`${file}: metadata "${key}" must be a JSON array of ${n} entries, one per heatmap`);
      }
      return value;
    };
    const isClass = (v: unknown): v is number => Number.isInteger(v);
    const info = {
      ids: list('ids', (v): v is string => typeof v === 'string'),
      labels: list('labels', isClass),
      predicted: list('predicted', isClass),
    };
    const float64 = reader.dtype === 'F64';
    const sampleBytes = channels! * height! * width! * (float64 ? 8 : 4);
    return {
      file, n, channels: channels!, height: height!, width: width!, float64, info,
      read: (first, count, into) => {
        if ((into instanceof Float64Array) !== float64 || into.length < count * channels! * height! * width!) throw new Error(`${file}: read buffer does not fit`);
        return reader.read(new Uint8Array(into.buffer, into.byteOffset, count * sampleBytes), first * sampleBytes);
      },
      close: () => reader.close(),
    };
  } catch (err) {
    await reader.close();
    throw err;
  }
}

/** Reads one whole heatmap file into memory; see openHeatmapFile. */
export async function readHeatmapFile(file: string, tensorName?: string): Promise<HeatmapBatch & { info: HeatmapFileInfo }> {
  const heatmaps = await openHeatmapFile(file, tensorName);
  try {
    const { n, channels, height, width, info } = heatmaps;
    const length = n * channels * height * width;
    const data = heatmaps.float64 ? new Float64Array(length) : new Float32Array(length);
    await heatmaps.read(0, n, data);
    return { data, n, channels, height, width, info };
  } finally {
    await heatmaps.close();
  }
}

/** Reads heatmaps from a file or a folder of shards (concatenated in name order); see readHeatmapFile. */
export async function readHeatmaps(path: string, tensorName?: string): Promise<HeatmapBatch> {
  const files = await tensorFilesAt(path);
  const parts: HeatmapBatch[] = [];
  for (const file of files) {
    const { info: _info, ...part } = await readHeatmapFile(file, tensorName);
    const first = parts[0] ?? part;
    if (part.channels !== first.channels || part.height !== first.height || part.width !== first.width) {
      throw new UserError(`${file}: heatmaps are ${part.channels}×${part.height}×${part.width} but ${files[0]} has ${first.channels}×${first.height}×${first.width}`);
    }
    parts.push(part);
  }
  if (parts.length === 1) return parts[0]!;
  return { ...parts[0]!, n: parts.reduce((sum, p) => sum + p.n, 0), data: concatenate(parts.map((p) => p.data)) };
}

function concatenate(arrays: ReadonlyArray<Float32Array | Float64Array>): Float32Array | Float64Array {
  const length = arrays.reduce((sum, a) => sum + a.length, 0);
  const out = arrays.every((a) => a instanceof Float32Array) ? new Float32Array(length) : new Float64Array(length);
  let offset = 0;
  for (const a of arrays) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
}

/**
 * A ground-truth file opened for reading in pieces: n×H×W (or n×1×H×W) of heatmap values 0 / 0.4 / 0.9 (float,
 * banded at ±0.3 / ±0.7 like the reference) or of bands 0 / 1 / 2 (integer dtype).
 */
export interface TruthFile {
  n: number;
  height: number;
  width: number;
  /** Bands (−2…2) of samples first … first + count − 1, in a buffer reused by the next call. */
  bands(first: number, count: number): Promise<Int8Array>;
  close(): Promise<void>;
}

const TRUTH_ARRAYS: Partial<Record<DType, new (length: number) => TruthData>> = {
  F32: Float32Array, F64: Float64Array, U8: Uint8Array, I8: Int8Array, U16: Uint16Array, I16: Int16Array, I32: Int32Array, U32: Uint32Array,
};

export async function openTruthFile(path: string, tensorName?: string): Promise<TruthFile> {
  const reader = await openTensorFile(path, tensorPicker(path, tensorName, TRUTH_TENSOR_NAMES));
  try {
    const shape = reader.shape.length === 4 && reader.shape[1] === 1 ? [reader.shape[0]!, reader.shape[2]!, reader.shape[3]!] : reader.shape;
    if (shape.length !== 3) throw new UserError(`${path}: ground truth must be n×H×W, found shape [${reader.shape.join(', ')}]`);
    if (reader.dtype === 'I64') throw new UserError(`${path}: int64 ground truth is not supported; save bands as uint8`);
    const Array_ = TRUTH_ARRAYS[reader.dtype]!;
    const [n, height, width] = shape as [number, number, number];
    if (n === 0 || height === 0 || width === 0) throw new UserError(`${path}: holds no ground-truth maps (shape [${reader.shape.join(', ')}])`);
    const pixels = height * width;
    let values = new Array_(0);
    let bands = new Int8Array(0);
    return {
      n, height, width,
      bands: async (first, count) => {
        if (values.length !== count * pixels) {
          values = new Array_(count * pixels);
          bands = new Int8Array(count * pixels);
        }
        await reader.read(new Uint8Array(values.buffer, 0, values.byteLength), first * pixels * values.BYTES_PER_ELEMENT);
        return toTruthBands(values, path, first * pixels, bands);
      },
      close: () => reader.close(),
    };
  } catch (err) {
    await reader.close();
    throw err;
  }
}

/** Reads a whole ground-truth file; see openTruthFile. */
export async function readTruthFile(path: string, tensorName?: string): Promise<TruthBatch> {
  const truth = await openTruthFile(path, tensorName);
  try {
    return { bands: await truth.bands(0, truth.n), n: truth.n, height: truth.height, width: truth.width };
  } finally {
    await truth.close();
  }
}

/** Ground truth of a fiveband dataset split: its bands (shards in order), sample ids and true classes. */
export async function readDatasetTruth(dir: string, split: string): Promise<{ truth: TruthBatch; ids: string[]; y0: number[] }> {
  if (!(SPLITS as readonly string[]).includes(split)) throw new UserError(`unknown split "${split}" (known: ${SPLITS.join(', ')})`);
  const dataset = await openDataset(dir);
  const refs = dataset.shards[split as Split];
  const n = refs.reduce((sum, ref) => sum + ref.samples, 0);
  if (n === 0) throw new UserError(`${dir}: split ${split} has no samples`);
  const pixels = dataset.size * dataset.size;
  const bands = new Int8Array(n * pixels);
  const ids: string[] = [];
  const y0: number[] = [];
  for (const ref of refs) {
    const shard = await dataset.readShard(split as Split, ref.index);
    bands.set(toTruthBands(shard.bands, ref.path), ids.length * pixels);
    ids.push(...shard.ids);
    y0.push(...shard.labels);
  }
  return { truth: { bands, n, height: dataset.size, width: dataset.size }, ids, y0 };
}

/** Sample ids from a text file, one per line (blank trailing lines ignored). */
export async function readIdsFile(path: string): Promise<string[]> {
  const lines = (await readText(path)).split(/\r?\n/);
  while (lines.length > 0 && lines.at(-1)!.trim() === '') lines.pop();
  return lines;
}

/**
 * A labels CSV with a header: `y_pred` (predicted class) and, unless the dataset provides them, `y0`
 * (true class); an `id` column, if present, must list the same ids in the same order.
 */
export async function readLabelsFile(path: string): Promise<{ ids: string[] | null; y0: number[] | null; yPred: number[] }> {
  const rows = parseCsv(await readText(path));
  const header = rows.shift();
  if (!header) throw new UserError(`${path}: labels file is empty`);
  const column = (name: string) => header.indexOf(name);
  if (column('y_pred') < 0) throw new UserError(`${path}: labels file needs a y_pred column (header: ${header.join(',')})`);
  const integers = (name: string): number[] | null => {
    const k = column(name);
    if (k < 0) return null;
    return rows.map((row, r) => {
      const value = Number(row[k]);
      if (row[k] === undefined || row[k] === '' || !Number.isInteger(value)) throw new UserError(`${path}: row ${r + 2}: ${name} "${row[k] ?? ''}" is not an integer class`);
      return value;
    });
  };
  const k = column('id');
  return { ids: k < 0 ? null : rows.map((row) => row[k] ?? ''), y0: integers('y0'), yPred: integers('y_pred')! };
}

async function readText(path: string): Promise<string> {
  return (await readUserFile(path)).toString('utf8');
}

/** RFC 4180 CSV: quoted fields may hold commas, quotes ("") and line breaks. Blank lines are skipped. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  row.push(field);
  if (row.length > 1 || row[0] !== '') rows.push(row);
  return rows;
}

/** The method name for a heatmap argument `[METHOD=]PATH`: the part before `=`, else the file or folder name. */
export function parseHeatmapArgument(argument: string): { method: string; path: string } {
  const eq = argument.indexOf('=');
  if (eq > 0 && /^[A-Za-z0-9][A-Za-z0-9_.+-]*$/.test(argument.slice(0, eq))) return { method: argument.slice(0, eq), path: argument.slice(eq + 1) };
  const name = basename(argument.replace(/[/\\]+$/, ''));
  return { method: name.slice(0, name.length - extname(name).length) || name, path: argument };
}
