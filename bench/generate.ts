// Data generation throughput (spec §6 baseline: the reference Python generator makes 1.26 samples/s at 512²).
// End-to-end: workers synthesise, the main thread assembles, hashes and writes the safetensors shards.
import { availableParallelism, loadavg } from 'node:os';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { generateDataset } from '../src/data/index.js';

const REFERENCE_SAMPLES_PER_SECOND = 1.26;
const scratch = join('.bench-tmp', 'generate');
const cores = availableParallelism();

/** Wall-clock samples/s, and samples per CPU-second of the whole process (all threads): less noisy on a shared machine. */
async function timeRun(size: number, samples: number, workers: number): Promise<{ wall: number; perCpuSecond: number }> {
  const out = join(scratch, `n${size}-w${workers}`);
  await rm(out, { recursive: true, force: true });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await generateDataset({ out, size, seed: 1, shards: { train: 1, val: 0, test: 0 }, perShard: samples, workers });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await rm(out, { recursive: true, force: true });
  return { wall: samples / seconds, perCpuSecond: samples / ((cpu.user + cpu.system) / 1e6) };
}

console.log(`data generation, 10 classes, ${cores} cores available (machine shared with other jobs: wall figures are noisy)`);
console.log(`load average before: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log('size  workers  samples  samples/s (wall)  samples per CPU-second  wall vs reference (1.26/s at 512)');
for (const [size, samples] of [[512, 200], [128, 2000]] as const) {
  for (const workers of [...new Set([1, cores])]) {
    const { wall, perCpuSecond } = await timeRun(size, samples, workers);
    const ratio = size === 512 ? `${(wall / REFERENCE_SAMPLES_PER_SECOND).toFixed(1)}×` : '';
    console.log(`${String(size).padStart(4)}  ${String(workers).padStart(7)}  ${String(samples).padStart(7)}  ${wall.toFixed(1).padStart(16)}  ${perCpuSecond.toFixed(1).padStart(22)}  ${ratio}`);
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
