import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  decodeSafetensors, encodeSafetensors, sha256, UserError, writeFileAtomic, type Tensor,
} from '../io/index.js';
import { describeArch, validateSpec, type ParamInfo } from './arch.js';
import { modelFromValues } from './create.js';
import type { ArchSpec, Model } from './model.js';

/**
 * A model folder: `weights.safetensors` (PyTorch state-dict names and layouts, float32; BN
 * `num_batches_tracked` int64) and `arch.json` (format, version, ArchSpec, the weights' sha256, extra).
 * The NHWC ↔ PyTorch layout conversion lives here and nowhere else.
 */
export const WEIGHTS_FILE = 'weights.safetensors';
export const ARCH_FILE = 'arch.json';
const FORMAT = 'fiveband-model';
const VERSION = 1;

export interface ModelInfo {
  spec: ArchSpec;
  /** Whatever the saver put beside the spec (training summary, …). */
  extra: Record<string, unknown>;
}

/** Keys of the reference's checkpoints that its models register but never use (torchvision ImageNet heads). */
const UNUSED_REFERENCE_KEYS = /^backbone\.(classifier|fc)\./;

/**
 * Blocked transpose of the rows×cols row-major matrix at `src[srcOffset..]` into `dst[dstOffset..]`
 * (cols×rows); blocks keep both sides in cache, which matters for the 100M-value fc1 of VGG16.
 */
function transpose2d(src: Float32Array, rows: number, cols: number, dst: Float32Array, srcOffset = 0, dstOffset = 0): void {
  const B = 32;
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = Math.min(r0 + B, rows);
    for (let c0 = 0; c0 < cols; c0 += B) {
      const c1 = Math.min(c0 + B, cols);
      for (let r = r0; r < r1; r++) {
        const from = srcOffset + r * cols;
        for (let c = c0; c < c1; c++) dst[dstOffset + c * rows + r] = src[from + c]!;
      }
    }
  }
}

/**
 * The tfjs value of a parameter seen as [a, b, c, d] whose PyTorch layout is [d, c, a, b]: conv
 * [kh, kw, in, out] → [out, in, kh, kw]; transposed conv [kh, kw, out, in] → [in, out, kh, kw]; a linear
 * layer after an NHWC flatten [h, w, c, out] → [out, c, h, w] (tfjs rows are in (h, w, c) order, PyTorch's
 * columns in (c, h, w) order). A plain linear [in, out] → [out, in] is the case a·b = 1. null: same layout.
 */
function abcdOf(p: ParamInfo): [number, number, number, number] | null {
  switch (p.layout) {
    case 'conv':
    case 'conv_transpose':
      return p.shape as [number, number, number, number];
    case 'linear':
      return p.flattenedFrom ? [...p.flattenedFrom, p.shape[1]!] : [1, 1, p.shape[0]!, p.shape[1]!];
    case 'vector':
      return null;
  }
}

export function toTorchLayout(p: ParamInfo, data: Float32Array): Float32Array {
  const abcd = abcdOf(p);
  if (!abcd) return data;
  const [a, b, c, d] = abcd;
  const dabc = new Float32Array(data.length);
  transpose2d(data, a * b * c, d, dabc); // [a·b·c, d] → [d, a·b, c]
  if (a * b === 1) return dabc;
  const out = new Float32Array(data.length);
  for (let i = 0; i < d; i++) transpose2d(dabc, a * b, c, out, i * a * b * c, i * a * b * c); // → [d, c, a·b]
  return out;
}

export function fromTorchLayout(p: ParamInfo, data: Float32Array): Float32Array {
  const abcd = abcdOf(p);
  if (!abcd) return data;
  const [a, b, c, d] = abcd;
  let dabc = data;
  if (a * b !== 1) {
    dabc = new Float32Array(data.length);
    for (let i = 0; i < d; i++) transpose2d(data, c, a * b, dabc, i * a * b * c, i * a * b * c); // [d, c, a·b] → [d, a·b, c]
  }
  const out = new Float32Array(data.length);
  transpose2d(dabc, d, a * b * c, out); // → [a·b·c, d]
  return out;
}

/** The model's parameters and buffers as a PyTorch state dict. */
export function toStateDict(model: Model): Record<string, Tensor> {
  const tensors: Record<string, Tensor> = {};
  for (const p of describeArch(model.spec).params) {
    const variable = (p.trainable ? model.trainable : model.buffers).get(p.name);
    if (!variable) throw new Error(`model has no ${p.name}`);
    if (p.dtype === 'int32') {
      tensors[p.name] = { dtype: 'I64', shape: p.torchShape, data: BigInt64Array.from(variable.dataSync() as Int32Array, (v) => BigInt(v)) };
    } else {
      tensors[p.name] = { dtype: 'F32', shape: p.torchShape, data: toTorchLayout(p, variable.dataSync() as Float32Array) };
    }
  }
  return tensors;
}

/**
 * Writes `dir/weights.safetensors` then `dir/arch.json` (both atomically; arch.json records the weights'
 * sha256, so a folder whose write was interrupted or whose weights were altered is detected on load).
 */
export async function saveModel(dir: string, model: Model, extra: Record<string, unknown> = {}): Promise<void> {
  const parts = encodeSafetensors(toStateDict(model), { format: FORMAT, arch: JSON.stringify(model.spec) });
  const hash = parts.reduce((h, part) => h.update(part), createHash('sha256')).digest('hex');
  await writeFileAtomic(join(dir, WEIGHTS_FILE), parts);
  const info = { format: FORMAT, version: VERSION, spec: model.spec, weights: { file: WEIGHTS_FILE, sha256: hash }, extra };
  await writeFileAtomic(join(dir, ARCH_FILE), `${JSON.stringify(info, null, 2)}\n`);
}

async function readBytes(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new UserError(`${path}: cannot read ${what} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/** Reads and checks `dir/arch.json`. */
export async function readModelInfo(dir: string): Promise<ModelInfo & { weightsSha256?: string }> {
  const path = join(dir, ARCH_FILE);
  let json: unknown;
  try {
    json = JSON.parse((await readBytes(path, 'the model description')).toString('utf8'));
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${path}: not valid JSON`);
  }
  const info = json as { format?: unknown; version?: unknown; spec?: unknown; weights?: { sha256?: unknown }; extra?: unknown };
  if (info === null || typeof info !== 'object' || info.format !== FORMAT) throw new UserError(`${path}: not a fiveband model description (format is not ${FORMAT})`);
  if (info.version !== VERSION) throw new UserError(`${path}: format version ${String(info.version)} is not supported (expected ${VERSION})`);
  const spec = validateSpec(info.spec, path);
  const extra = info.extra && typeof info.extra === 'object' ? (info.extra as Record<string, unknown>) : {};
  const hash = info.weights?.sha256;
  return { spec, extra, ...(typeof hash === 'string' ? { weightsSha256: hash } : {}) };
}

function allFinite(data: Float32Array): boolean {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return false;
  return true;
}

/** Checks a state dict against an architecture and converts it to tfjs layouts (the load half of I/O). */
export function fromStateDict(spec: ArchSpec, tensors: Record<string, Tensor>, source: string): Map<string, Float32Array | Int32Array> {
  const params = describeArch(spec).params;
  const expected = new Set(params.map((p) => p.name));
  const unexpected = Object.keys(tensors).find((k) => !expected.has(k) && !UNUSED_REFERENCE_KEYS.test(k));
  if (unexpected !== undefined) throw new UserError(`${source}: unexpected tensor ${unexpected} for ${spec.arch} (wrong architecture?)`);
  const values = new Map<string, Float32Array | Int32Array>();
  for (const p of params) {
    const t = tensors[p.name];
    if (!t) throw new UserError(`${source}: missing tensor ${p.name} for ${spec.arch} (wrong architecture?)`);
    if (t.shape.join(',') !== p.torchShape.join(',')) {
      throw new UserError(`${source}: tensor ${p.name} has shape [${t.shape.join(', ')}], ${spec.arch} needs [${p.torchShape.join(', ')}]`);
    }
    if (p.dtype === 'int32') {
      if (t.dtype !== 'I64' && t.dtype !== 'I32') throw new UserError(`${source}: tensor ${p.name} is ${t.dtype}, expected I64`);
      values.set(p.name, Int32Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v)));
      continue;
    }
    if (t.dtype !== 'F32') throw new UserError(`${source}: tensor ${p.name} is ${t.dtype}, expected F32`);
    const data = t.data as Float32Array;
    if (!allFinite(data)) throw new UserError(`${source}: tensor ${p.name} contains NaN or infinite values`);
    values.set(p.name, fromTorchLayout(p, data));
  }
  return values;
}

function parseStoredSpec(text: string, source: string): ArchSpec {
  try {
    return validateSpec(JSON.parse(text), `${source} metadata`);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${source}: metadata arch is not valid JSON`);
  }
}

function sameSpec(a: ArchSpec, b: ArchSpec): boolean {
  return a.arch === b.arch && a.inputSize === b.inputSize && a.numClasses === b.numClasses && a.width === b.width && a.depth === b.depth;
}

/** Loads a model folder written by `saveModel` (or by a PyTorch user following the same format). */
export async function loadModel(dir: string): Promise<Model> {
  const info = await readModelInfo(dir);
  const path = join(dir, WEIGHTS_FILE);
  const bytes = await readBytes(path, 'the weights');
  if (info.weightsSha256 !== undefined && sha256(bytes) !== info.weightsSha256) {
    throw new UserError(`${path}: checksum differs from ${ARCH_FILE} (corrupt, or replaced without updating ${ARCH_FILE})`);
  }
  const file = decodeSafetensors(bytes, path);
  const stored = file.metadata.arch;
  if (stored !== undefined && !sameSpec(parseStoredSpec(stored, path), info.spec)) {
    throw new UserError(`${path}: weights were saved for ${stored}, but ${ARCH_FILE} describes ${JSON.stringify(info.spec)}`);
  }
  return modelFromValues(info.spec, fromStateDict(info.spec, file.tensors, path));
}
