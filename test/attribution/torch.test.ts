import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { lastSpatialConv } from '../../src/attribution/grad-cam.js';
import { predictedClasses, resolveMethods } from '../../src/attribution/index.js';
import { readNpy, writeNpy } from '../../src/io/index.js';
import { createModel, saveModel } from '../../src/nn/index.js';
import { randomImages, SMALL } from '../nn/helpers.js';
import { needsTorch, torchPython } from '../python-torch.js';
import { relativeL2, useCpu } from './helpers.js';

/**
 * Every deterministic method on every small architecture against a PyTorch twin of the method
 * (bench/explain_torch.py: plain autograd + module hooks following Captum 0.5, checked against Captum itself
 * when this was written) running the PyTorch twin of the model (test/nn/torch_models.py) on our weights.
 * Skipped (by name, with the reason) when python3 cannot import torch; captum-oracle.test.ts covers the methods without torch.
 */
const script = fileURLToPath(new URL('../../../bench/explain_torch.py', import.meta.url));
const DETERMINISTIC = 'Saliency,IntegratedGradients,InputXGradient,DeepLift,GuidedBackprop,GuidedGradCam,Deconvolution,GradCam,Occlusion,LRP';

test('our methods equal PyTorch twins of Captum\'s methods on every small architecture (same weights)', needsTorch, async () => {
  await useCpu();
  const root = await mkdtemp(join(tmpdir(), 'fiveband-attr-torch-'));
  try {
    // Every model's inputs first, then one python process for all of them (torch loads once).
    const cases = SMALL.map((spec, i) => {
      const model = createModel(spec, 30 + i);
      const x = randomImages(1, spec.inputSize, 40 + i);
      return { spec, model, x, targets: predictedClasses(model, x), dir: join(root, `${spec.arch}-${i}`) };
    });
    for (const { spec, model, x, targets, dir } of cases) {
      await saveModel(dir, model);
      const inputs = tf.tidy(() => tf.transpose(x, [0, 3, 1, 2]).dataSync() as Float32Array);
      await writeNpy(join(dir, 'inputs.npy'), inputs, [1, 3, spec.inputSize, spec.inputSize]);
      await writeNpy(join(dir, 'targets.npy'), Int32Array.from(targets), [1]);
    }
    const jobs = cases.map(({ model, dir }) => ({
      model_dir: dir, layer: model.firstConv, cam_layer: lastSpatialConv(model), inputs: join(dir, 'inputs.npy'), targets: join(dir, 'targets.npy'), out_dir: dir,
    }));
    await writeFile(join(root, 'jobs.json'), JSON.stringify(jobs));
    const r = spawnSync(torchPython!, [script, '--jobs', join(root, 'jobs.json'), '--threads', '1', '--steps', '8', '--methods', DETERMINISTIC], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    for (const { spec, model, x, targets, dir } of cases) {
      for (const method of resolveMethods('all', model).filter((m) => DETERMINISTIC.split(',').includes(m.name))) { // LRP: not on SPA
        const ours = method.attribute(model, x, targets, { internalBatchSize: 16, steps: 8 });
        const theirs = await readNpy(join(dir, `${method.name}.npy`));
        assert.deepEqual(theirs.shape, ours.shape);
        if (method.name === 'Occlusion' && spec.arch === 'spa') {
          // This random SPA's occlusion drops are ~2e-7 of a logit of 0.04, tens of float32 ulps: the two frameworks'
          // rounding of the logits sets them, so they agree only in absolute terms.
          const worst = Math.max(...Array.from(ours.data, (v, k) => Math.abs(v - (theirs.data as Float32Array)[k]!)));
          assert.ok(worst < 1e-7, `spa Occlusion: largest difference ${worst}`);
          continue;
        }
        const error = relativeL2(ours.data, theirs.data as Float32Array);
        // DeepLift switches branch at |Δin| < 1e-10 (see backends.test.ts); the others are smooth float32 noise.
        // Occlusion's values are differences of nearly equal logits, which keep fewer digits.
        const tolerance = method.name === 'DeepLift' ? 2e-2 : method.name === 'Occlusion' ? 2e-3 : 1e-4;
        assert.ok(error < tolerance, `${spec.arch} ${method.name}: relative L2 difference ${error}`);
      }
      x.dispose();
      model.dispose();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
