// Fuzz targets for every reader of user files: valid inputs made by fiveband's own writers, then mutated
// (truncated, bytes flipped or overwritten, garbage appended, headers and JSON fields replaced by lies). The
// property: the reader returns, or throws a one-line UserError; never another error, never a hang.
import fc from 'fast-check';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDataset, readManifest } from '../../src/data/index.js';
import { decodeNpy, decodeSafetensors, encodeNpy, encodeSafetensors, UserError } from '../../src/io/index.js';
import { createModel, loadModel, saveModel } from '../../src/nn/index.js';
import { openHeatmapFile, readIdsFile, readLabelsFile } from '../../src/scoring/index.js';

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))));
}

export interface FuzzTarget {
  name: string;
  /** Valid inputs the mutations start from. */
  seeds: Uint8Array[];
  /** Reads one input (bytes of the file under test); may resolve or throw. */
  read(bytes: Uint8Array): Promise<void>;
}

export type Outcome = 'ok' | 'user error' | 'crash' | 'hang';

/** Runs one input through a target with a time bound and classifies what happened. */
export async function outcomeOf(target: FuzzTarget, bytes: Uint8Array, timeoutMs = 5000): Promise<{ outcome: Outcome; detail?: string }> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<'hang'>((resolve) => (timer = setTimeout(() => resolve('hang'), timeoutMs)));
  try {
    const result = await Promise.race([target.read(bytes).then(() => 'ok' as const), hang]);
    return { outcome: result };
  } catch (err) {
    if (err instanceof UserError && !err.message.includes('\n')) return { outcome: 'user error' };
    return { outcome: 'crash', detail: err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

/** One mutation of valid bytes: what a damaged disk, a wrong tool or a hostile file would give. */
export function mutated(seeds: Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const seed = fc.constantFrom(...seeds);
  const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');
  const lies = fc.constantFrom('-1', '0', '1e9', '3.5', '"x"', 'null', '[]', '{}', 'true', '-0', '99999999999999999999', 'NaN', '"../../etc/passwd"', '"/proc/self/mem"', '[-5,3]', '[1,2,3,4,5,6,7,8]');
  return fc.oneof(
    seed.chain((b) => fc.nat(b.length).map((n) => b.subarray(0, n))), // truncated
    seed.chain((b) => fc.array(fc.tuple(fc.nat(Math.max(0, b.length - 1)), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 })
      .map((flips) => {
        const c = Uint8Array.from(b);
        for (const [i, v] of flips) if (c.length > 0) c[i] = v;
        return c;
      })), // bytes changed
    seed.chain((b) => fc.uint8Array({ minLength: 1, maxLength: 64 }).map((g) => concatBytes([b, g]))), // garbage appended
    seed.chain((b) => fc.tuple(fc.nat(b.length), fc.uint8Array({ minLength: 1, maxLength: 32 }))
      .map(([at, g]) => concatBytes([b.subarray(0, at), g, b.subarray(at)]))), // bytes inserted
    // A number, string or value in the header / JSON replaced by a lie (same file otherwise).
    seed.chain((b) => {
      const t = text(b);
      const spots = [...t.slice(0, 4096).matchAll(/-?\d+(\.\d+)?|"[^"]*"|null|true|false/g)].map((m) => [m.index!, m[0].length] as const);
      if (spots.length === 0) return fc.constant(b);
      return fc.tuple(fc.constantFrom(...spots), lies).map(([[at, length], lie]) => Uint8Array.from(Buffer.from(t.slice(0, at) + lie + t.slice(at + length), 'latin1')));
    }),
    fc.uint8Array({ maxLength: 256 }), // anything
  );
}

/** The targets, with seeds written by fiveband itself into `dir`. */
export async function fuzzTargets(dir?: string): Promise<FuzzTarget[]> {
  const root = dir ?? (await mkdtemp(join(tmpdir(), 'fiveband-fuzz-')));
  const file = (name: string) => join(root, name);
  const bytesOf = (parts: Uint8Array[]) => concatBytes(parts);

  const npySeeds = [
    bytesOf(encodeNpy(Float32Array.from([0.5, -1, Number.NaN, 3e38, 0, 1]), [1, 3, 2])),
    bytesOf(encodeNpy(Float64Array.from([1, 2, 3, 4]), [2, 2])),
    bytesOf(encodeNpy(Uint8Array.from([0, 1, 2, 2, 1, 0]), [2, 3])),
  ];
  const safetensorsSeeds = [
    bytesOf(encodeSafetensors({
      heatmaps: { dtype: 'F32', shape: [2, 1, 2, 2], data: Float32Array.from([1, 0, -1, 0.5, 0, 0, 0.25, 1]) },
      extra: { dtype: 'U8', shape: [3], data: Uint8Array.from([1, 2, 3]) },
    }, { ids: '["a","b"]', labels: '[1,2]', predicted: '[1,0]' })),
  ];

  // A real dataset manifest and model folder, mutated in place of the originals.
  const data = file('data');
  await generateDataset({ out: data, size: 64, seed: 1, shards: { train: 1, val: 1, test: 1 }, perShard: 2, workers: 1 });
  const { readFile } = await import('node:fs/promises');
  const manifestSeed = Uint8Array.from(await readFile(join(data, 'manifest.json')));
  const model = createModel({ arch: 'spa', inputSize: 48, numClasses: 10, width: 0.05 }, 1);
  const modelDir = file('model');
  await saveModel(modelDir, model);
  model.dispose();
  const archSeed = Uint8Array.from(await readFile(join(modelDir, 'arch.json')));
  const weightsSeed = Uint8Array.from(await readFile(join(modelDir, 'weights.safetensors')));

  let counter = 0;
  const scratch = async (name: string, bytes: Uint8Array) => {
    const sub = file(`case-${counter++ % 64}`);
    await mkdir(sub, { recursive: true });
    await writeFile(join(sub, name), bytes);
    return sub;
  };
  return [
    { name: 'npy', seeds: npySeeds, read: async (b) => void decodeNpy(b, 'case.npy') },
    { name: 'safetensors', seeds: safetensorsSeeds, read: async (b) => void decodeSafetensors(b, 'case.safetensors') },
    {
      name: 'heatmap file (.safetensors with ids/labels metadata)', seeds: safetensorsSeeds,
      read: async (b) => {
        const heatmaps = await openHeatmapFile(join(await scratch('h.safetensors', b), 'h.safetensors'));
        try {
          const into = heatmaps.float64 ? new Float64Array(heatmaps.n * heatmaps.channels * heatmaps.height * heatmaps.width) : new Float32Array(heatmaps.n * heatmaps.channels * heatmaps.height * heatmaps.width);
          await heatmaps.read(0, heatmaps.n, into);
        } finally {
          await heatmaps.close();
        }
      },
    },
    {
      name: 'heatmap file (.npy)', seeds: [npySeeds[0]!, bytesOf(encodeNpy(Float64Array.from([1, 0, -1, 2, 0.5, 0, 0, 3]), [2, 1, 2, 2]))],
      read: async (b) => {
        const heatmaps = await openHeatmapFile(join(await scratch('h.npy', b), 'h.npy'));
        await heatmaps.close();
      },
    },
    {
      name: 'dataset manifest', seeds: [manifestSeed],
      read: async (b) => {
        const sub = await scratch('manifest.json', b);
        await readManifest(sub);
      },
    },
    {
      name: 'model folder (arch.json)', seeds: [archSeed],
      read: async (b) => {
        const sub = await scratch('arch.json', b);
        await writeFile(join(sub, 'weights.safetensors'), weightsSeed);
        (await loadModel(sub)).dispose();
      },
    },
    {
      name: 'model folder (weights.safetensors)', seeds: [weightsSeed],
      read: async (b) => {
        const sub = await scratch('weights.safetensors', b);
        // without a checksum in arch.json, so the weights' own checks are what is fuzzed
        const arch = JSON.parse(Buffer.from(archSeed).toString('utf8')) as { weights: Record<string, unknown> };
        delete arch.weights.sha256;
        await writeFile(join(sub, 'arch.json'), JSON.stringify(arch));
        (await loadModel(sub)).dispose();
      },
    },
    {
      name: 'labels CSV', seeds: [Uint8Array.from(Buffer.from('id,y0,y_pred\na,1,1\n"b,c",2,3\nd,0,9\n'))],
      read: async (b) => void (await readLabelsFile(join(await scratch('labels.csv', b), 'labels.csv'))),
    },
    {
      name: 'ids file', seeds: [Uint8Array.from(Buffer.from('a\nb\r\nc\n\n'))],
      read: async (b) => void (await readIdsFile(join(await scratch('ids.txt', b), 'ids.txt'))),
    },
  ];
}
