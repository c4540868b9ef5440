// Piscina worker: generates a run of consecutive samples of one shard (compiled to dist/, loaded by generate.ts).
import { geometryFor, type ClassCount } from './geometry.js';
import { allocateBatch, sampleRng, Synthesiser, type SampleBatch } from './synthesise.js';

export interface ChunkTask {
  size: number;
  classes: ClassCount;
  seed: number;
  split: string;
  shard: number;
  start: number;
  count: number;
}

let synthesiser: Synthesiser | null = null;

export default function generateChunk(task: ChunkTask): SampleBatch {
  const g = geometryFor(task.size, task.classes);
  if (!synthesiser || synthesiser.geometry.size !== g.size || synthesiser.geometry.classes !== g.classes) {
    synthesiser = new Synthesiser(g);
  }
  const batch = allocateBatch(task.size, task.count);
  for (let i = 0; i < task.count; i++) {
    synthesiser.synthesise(sampleRng(task.seed, task.split, task.shard, task.start + i), batch, i);
  }
  return batch;
}
