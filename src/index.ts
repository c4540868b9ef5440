/**
 * fiveband's library API. Each pipeline stage is a namespace (`data`, `nn`, `train`, `attribution`,
 * `scoring`, `study`, `report`, plus `io` and `rng`); the entry points most programs need are also exported by name.
 *
 *   import { generateDataset, openDataset, createModel, getMethod, scoreHeatmaps } from 'fiveband';
 */
export * as io from './io/index.js';
export * as rng from './rng/index.js';
export * as data from './data/index.js';
export * as nn from './nn/index.js';
export * as train from './train/index.js';
export * as attribution from './attribution/index.js';
export * as scoring from './scoring/index.js';
export * as study from './study/index.js';
export * as report from './report/index.js';

export { UserError } from './io/index.js';
export { Rng } from './rng/index.js';
export { generateDataset, openDataset, iterateSamples, readShard } from './data/index.js';
export { initBackend, backendInfo } from './compute/index.js';
export { createModel, loadModel, saveModel, describeArch } from './nn/index.js';
export type { Model, ArchSpec, NonlinearityRule, ForwardOptions } from './nn/index.js';
export { getMethod, methodNames, explainDataset } from './attribution/index.js';
export { runTraining, evaluateModel } from './train/index.js';
export { FivebandScorer, PRESETS, runScore, scoreHeatmaps, writeOutputs } from './scoring/index.js';
export { runStudy, studyConfig } from './study/index.js';
export { writeReport } from './report/index.js';
