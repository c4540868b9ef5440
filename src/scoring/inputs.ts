import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { openDataset, SPLITS, type Split } from '../data/index.js';
import { cannotRead, readNpy, readSafetensors, readUserFile, UserError, type Tensor } from '../io/index.js';
import { toTruthBands, type TruthData } from './bands.js';
import type { HeatmapBatch, TruthBatch } from './batch.js';

const TENSOR_EXTENSIONS = ['.npy', '.safetensors'];
/** Tensor names tried, in order, in a safetensors file holding several tensors. */
const HEATMAP_TENSOR_NAMES = ['heatmaps', 'attributions', 'attribution', 'heatmap'];
const TRUTH_TENSOR_NAMES = ['bands', 'ground_truth', 'truth', 'h0'];

/** Reads one array from a .npy file, or the named (or only, or conventionally named) tensor of a safetensors file. */
export async function readTensorFile(path: string, tensorName?: string, conventionalNames: readonly string[] = []): Promise<Tensor> {
  return (await readTensorAndMetadata(path, tensorName, conventionalNames)).tensor;
}

async function readTensorAndMetadata(
  path: string, tensorName: string | undefined, conventionalNames: readonly string[],
): Promise<{ tensor: Tensor; metadata: Record<string, string> }> {
  const ext = extname(path).toLowerCase();
  if (ext === '.npy') return { tensor: await readNpy(path), metadata: {} };
  if (ext !== '.safetensors') throw new UserError(`${path}: unsupported file type "${ext}" (use .npy or .safetensors)`);
  const { tensors, metadata } = await readSafetensors(path);
  const names = Object.keys(tensors);
  const name = tensorName ?? (names.length === 1 ? names[0] : conventionalNames.find((n) => names.includes(n)));
  if (name === undefined || !tensors[name]) {
    throw new UserError(`${path}: ${tensorName ? `no tensor "${tensorName}"` : 'several tensors'} (found: ${names.join(', ') || 'none'}); pick one with --tensor`);
  }
  return { tensor: tensors[name]!, metadata };
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

/** Reads one heatmap file: float32 or float64, n×C×H×W (Captum's layout; C = 3 for images, 1 for mab) or n×H×W. */
export async function readHeatmapFile(file: string, tensorName?: string): Promise<HeatmapBatch & { info: HeatmapFileInfo }> {
  const { tensor, metadata } = await readTensorAndMetadata(file, tensorName, HEATMAP_TENSOR_NAMES);
  if (tensor.dtype !== 'F32' && tensor.dtype !== 'F64') throw new UserError(`${file}: heatmaps must be float32 or float64, found ${tensor.dtype}`);
  const { shape } = tensor;
  if (shape.length !== 3 && shape.length !== 4) {
    throw new UserError(`${file}: heatmaps must be n×C×H×W or n×H×W, found shape [${shape.join(', ')}]`);
  }
  const [channels, height, width] = shape.length === 4 ? shape.slice(1) : [1, ...shape.slice(1)];
  const n = shape[0]!;
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
  return { data: tensor.data as Float32Array | Float64Array, n, channels: channels!, height: height!, width: width!, info };
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
 * Reads a ground-truth file: n×H×W (or n×1×H×W) of heatmap values 0 / 0.4 / 0.9 (float, banded at
 * ±0.3 / ±0.7 like the reference) or of bands 0 / 1 / 2 (integer dtype).
 */
export async function readTruthFile(path: string, tensorName?: string): Promise<TruthBatch> {
  const tensor = await readTensorFile(path, tensorName, TRUTH_TENSOR_NAMES);
  const shape = tensor.shape.length === 4 && tensor.shape[1] === 1 ? [tensor.shape[0]!, tensor.shape[2]!, tensor.shape[3]!] : tensor.shape;
  if (shape.length !== 3) throw new UserError(`${path}: ground truth must be n×H×W, found shape [${tensor.shape.join(', ')}]`);
  if (tensor.dtype === 'I64') throw new UserError(`${path}: int64 ground truth is not supported; save bands as uint8`);
  return { bands: toTruthBands(tensor.data as TruthData, path), n: shape[0]!, height: shape[1]!, width: shape[2]! };
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
