// The synthetic cells dataset (spec §1): generation, shard store and the reader other stages use.
export { geometryFor, MIN_SIZE, REFERENCE_SIZE, type ClassCount, type Geometry } from './geometry.js';
export { CELL_TYPE_NAMES, CELL_TYPE_LABELS, THREE_CLASS_TYPES, cellTypeOfLabel } from './draw.js';
export { BAND_VALUES, THRESHOLD_DISCRIMINATIVE, THRESHOLD_LOCALISATION } from './render.js';
export { Synthesiser, allocateBatch, sampleRng, type SampleBatch } from './synthesise.js';
export {
  GENERATOR_VERSION, MANIFEST_FILE, SPLITS, profileDefaults, readManifest, sampleId, shardFile,
  type DatasetConfig, type Manifest, type ProfileName, type ShardEntry, type Split, type SplitPlan,
} from './manifest.js';
export { readShard, decodeShard, type Shard } from './shard.js';
export { resizeImages, resizeBands, gaussianKernel, mirrorIndex } from './resize.js';
export {
  openDataset, iterateSamples, sampleAt, imageToFloat, bandsToGroundTruth,
  type Dataset, type Sample, type ShardRef,
} from './reader.js';
export { generateDataset, type GenerateOptions, type GenerateResult, type GenerateProgress } from './generate.js';
export { renderSheet, renderOverview, writeSheets, type SheetsOptions } from './sheets.js';
