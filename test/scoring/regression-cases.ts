// A large random scoring case whose outputs are pinned by sha256 (fixtures/score-regression.json, made by the
// scoring code of commit a9e91b6, before the streaming readers; summary.json re-pinned when statistics.json joined
// the outputs, every other file unchanged): the score command's files must stay byte-identical. Run directly (`node dist/test/scoring/regression-cases.js`) to print the hashes.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sha256, writeNpy, writeSafetensors } from '../../src/io/index.js';
import { Rng } from '../../src/rng/index.js';
import { presetSetting, runScore, type RunScoreOptions } from '../../src/scoring/index.js';

const N = 37;
const SIZE = 48;
const PIXELS = SIZE * SIZE;

/** Writes the inputs: heatmaps in three shapes of trouble (noise, ties on a coarse grid, values on thresholds), one all-zero and one cancelled map. */
async function writeInputs(dir: string): Promise<void> {
  const rng = Rng.derive(11, 'score-regression');
  const truth = new Float32Array(N * PIXELS);
  const heatmaps = new Float32Array(N * 3 * PIXELS);
  const mab = new Float64Array(N * PIXELS);
  for (let i = 0; i < N; i++) {
    const cx = rng.uniform(10, 38), cy = rng.uniform(10, 38), r = rng.uniform(5, 16);
    for (let p = 0; p < PIXELS; p++) {
      const d = Math.hypot((p % SIZE) - cx, Math.floor(p / SIZE) - cy) / r;
      truth[i * PIXELS + p] = d < 0.5 ? 0.9 : d < 1 ? 0.4 : 0;
      mab[i * PIXELS + p] = Math.max(0, Math.min(1, Math.exp(-d * d) + rng.normal(0, 0.2)));
      for (let c = 0; c < 3; c++) {
        let v = Math.exp(-d * d) * rng.uniform(-0.3, 1) + rng.normal(0, 0.2);
        if (i % 3 === 1) v = Math.round(v * 8) / 8; // many exact ties
        if (i % 3 === 2) v = [0.3, -0.5, 0.025, 0.5, -0.3][Math.floor(rng.uniform(0, 5))]! * (c === 0 ? 3 : 0); // sums on thresholds
        heatmaps[(i * 3 + c) * PIXELS + p] = v;
      }
    }
  }
  heatmaps.fill(0, 4 * 3 * PIXELS, 5 * 3 * PIXELS); // sample 4: all zero
  for (let p = 0; p < PIXELS; p++) { // sample 7: channels cancel
    heatmaps[(7 * 3) * PIXELS + p] = 0.5;
    heatmaps[(7 * 3 + 1) * PIXELS + p] = -0.25;
    heatmaps[(7 * 3 + 2) * PIXELS + p] = -0.25;
  }
  await writeNpy(join(dir, 'truth.npy'), truth, [N, SIZE, SIZE]);
  await writeNpy(join(dir, 'all.npy'), heatmaps, [N, 3, SIZE, SIZE]);
  // the same heatmaps as float64 safetensors shards of 10 (a folder read in name order)
  for (let s = 0; s * 10 < N; s++) {
    const count = Math.min(10, N - s * 10);
    const data = Float64Array.from(heatmaps.subarray(s * 10 * 3 * PIXELS, (s * 10 + count) * 3 * PIXELS));
    await writeSafetensors(join(dir, 'shards', `part-${s}.safetensors`), { attributions: { dtype: 'F64', shape: [count, 3, SIZE, SIZE], data } });
  }
  await writeNpy(join(dir, 'mab.npy'), mab, [N, 1, SIZE, SIZE]);
}

/** The pinned runs: every preset, metrics on and off, long CSV on and off, one and two workers. */
function cases(dir: string): Array<{ name: string; options: RunScoreOptions }> {
  const truth = { file: join(dir, 'truth.npy') };
  return [
    { name: 'v1-all', options: { heatmaps: [{ method: 'Npy', path: join(dir, 'all.npy') }, { method: 'Shards', path: join(dir, 'shards') }], truth, out: join(dir, 'v1-all'), setting: presetSetting('v1'), pandasIndex: true } },
    { name: 'v1-clamp', options: { heatmaps: [{ method: 'Npy', path: join(dir, 'all.npy') }], truth, out: join(dir, 'v1-clamp'), setting: presetSetting('v1-clamp'), workers: 2 } },
    { name: 'v2-bare', options: { heatmaps: [{ method: 'Shards', path: join(dir, 'shards') }], truth, out: join(dir, 'v2-bare'), setting: presetSetting('v2'), metrics: [], long: false, workers: 2 } },
    { name: 'mab', options: { heatmaps: [{ method: 'mab', path: join(dir, 'mab.npy') }], truth, out: join(dir, 'mab'), setting: presetSetting('mab') } },
  ];
}

/** Runs every case in `dir`; returns `case/file` → sha256 of every output file. */
export async function regressionHashes(dir: string): Promise<Record<string, string>> {
  await writeInputs(dir);
  const hashes: Record<string, string> = {};
  for (const { name, options } of cases(dir)) {
    await runScore(options);
    for (const file of (await readdir(options.out)).sort()) hashes[`${name}/${file}`] = sha256(await readFile(join(options.out, file)));
  }
  return hashes;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  console.log(JSON.stringify(await regressionHashes(await mkdtemp(join(tmpdir(), 'fiveband-regression-'))), null, 1));
}
