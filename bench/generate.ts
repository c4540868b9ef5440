// Data generation throughput (spec §6 baseline: the reference Python generator makes 1.26 samples/s at 512²).
// End-to-end: workers synthesise, the main thread assembles, hashes and writes the safetensors shards.
import { availableParallelism } from 'node:os';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { generateDataset } from '../src/data/index.js';

const REFERENCE_SAMPLES_PER_SECOND = 1.26;
const scratch = join('.bench-tmp', 'generate');
const cores = availableParallelism();

async function timeRun(size: number, samples: number, workers: number): Promise<number> {
  const out = join(scratch, `n${size}-w${workers}`);
  await rm(out, { recursive: true, force: true });
  const t0 = performance.now();
  await generateDataset({ out, size, seed: 1, shards: { train: 1, val: 0, test: 0 }, perShard: samples, workers });
  const seconds = (performance.now() - t0) / 1000;
  await rm(out, { recursive: true, force: true });
  return samples / seconds;
}

console.log(`data generation, 10 classes, ${cores} cores available (machine shared: figures are noisy)`);
console.log('size  workers  samples  samples/s  vs reference (1.26/s at 512)');
for (const [size, samples] of [[512, 150], [128, 1500]] as const) {
  for (const workers of [...new Set([1, cores])]) {
    const rate = await timeRun(size, samples, workers);
    const ratio = size === 512 ? `${(rate / REFERENCE_SAMPLES_PER_SECOND).toFixed(1)}×` : '';
    console.log(`${String(size).padStart(4)}  ${String(workers).padStart(7)}  ${String(samples).padStart(7)}  ${rate.toFixed(1).padStart(9)}  ${ratio}`);
  }
}

// Memory while streaming paper-profile shards (512², 200 samples each): resident size after each shard.
const out = join(scratch, 'paper-memory');
await rm(out, { recursive: true, force: true });
const rss: string[] = [];
let lastShards = 0;
await generateDataset({
  out, profile: 'paper', seed: 1, shards: { train: 5, val: 0, test: 0 },
  onProgress: (done) => {
    const shards = Math.floor(done / 200);
    if (shards > lastShards) {
      lastShards = shards;
      rss.push(`${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
    }
  },
});
const shardBytes = (await stat(join(out, 'train', 'shard-0000.safetensors'))).size;
console.log(`paper profile: one 512² shard of 200 samples = ${(shardBytes / 2 ** 20).toFixed(1)} MiB; process RSS after shards 1..5: ${rss.join(', ')}`);
await rm(scratch, { recursive: true, force: true });
