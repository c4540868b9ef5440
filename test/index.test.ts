import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fiveband from '../src/index.js';

test('the library API exposes every stage and the main entry points', () => {
  for (const stage of ['io', 'rng', 'data', 'nn', 'train', 'attribution', 'scoring', 'study', 'report'] as const) {
    assert.equal(typeof fiveband[stage], 'object', stage);
  }
  for (const fn of [fiveband.generateDataset, fiveband.openDataset, fiveband.createModel, fiveband.loadModel,
    fiveband.saveModel, fiveband.initBackend, fiveband.getMethod, fiveband.scoreHeatmaps, fiveband.explainDataset,
    fiveband.runTraining, fiveband.evaluateModel, fiveband.runScore, fiveband.train.resolveHyper, fiveband.data.resizeImages,
    fiveband.runStudy, fiveband.studyConfig, fiveband.writeReport]) {
    assert.equal(typeof fn, 'function');
  }
  assert.deepEqual(Object.keys(fiveband.PRESETS).sort(), ['mab', 'v1', 'v1-clamp', 'v2']);
  assert.equal(fiveband.createModel, fiveband.nn.createModel, 'top-level names are the stage functions, not copies');
});
