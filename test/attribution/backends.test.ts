import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { getMethod, resolveMethods, type Attribution } from '../../src/attribution/index.js';
import { createModel } from '../../src/nn/index.js';
import { initBackend } from '../../src/compute/index.js';
import { randomImages, SMALL } from '../nn/helpers.js';
import { FAST_BACKENDS } from '../compute/compare.js';

after(() => initBackend('cpu'));

/** ‖a − b‖₂ / ‖b‖₂. */
function relativeL2(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

/** Largest |a − b| over the largest |b| (attributions span orders of magnitude, so scale to the map). */
function scaledError(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  let largest = 0;
  for (let i = 0; i < b.length; i++) {
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    largest = Math.max(largest, Math.abs(b[i]!));
  }
  return largest === 0 ? worst : worst / largest;
}

// One test for both fast backends: the cpu maps (the slow part) are computed once per architecture. The native
// backend is compared where it is built, and always under FIVEBAND_NATIVE=required (CI).
const compared = FAST_BACKENDS.filter((b) => b.options.skip === undefined).map((b) => b.name);
const missing = FAST_BACKENDS.filter((b) => b.options.skip !== undefined).map((b) => `${b.name}: ${b.options.skip}`);
test(`every method gives the same attributions on the ${compared.join(' and ')} and cpu backends, on every small architecture${missing.length > 0 ? ` (not compared: ${missing.join('; ')})` : ''}`, async () => {
  await initBackend('cpu');
  for (const spec of SMALL) {
    const model = createModel(spec, 3);
    // One image: the comparison is per pixel, and the cpu maps are the test's cost.
    const x = randomImages(1, spec.inputSize, 11);
    const methods = resolveMethods('all', model);
    assert.equal(methods.includes(getMethod('mab')), spec.arch === 'spa');
    const half = spec.inputSize / 2;
    const options = { seed: 1, sampleKeys: ['s0'], steps: 8, ntSamples: 2, occlusionWindow: half, occlusionStride: half };
    const run = (): Attribution[] => methods.map((m) => m.attribute(model, x, undefined, options));
    await initBackend('cpu');
    const cpu = run();
    for (const fast of compared) {
      await initBackend(fast);
      const fastMaps = run();
      await initBackend('cpu');
      methods.forEach((m, i) => {
        assert.deepEqual(fastMaps[i]!.shape, cpu[i]!.shape);
        if (m.name === 'mab') {
          const same = fastMaps[i]!.data.filter((v, k) => v === cpu[i]!.data[k]).length;
          assert.ok(same >= 0.999 * cpu[i]!.data.length, `${fast} ${spec.arch} mab: ${same} of ${cpu[i]!.data.length} pixels agree`);
        } else if (m.name.startsWith('DeepLift')) {
          // The rescale rule switches between Δout/Δin and the plain gradient at |Δin| < 1e-10. Most softmax
          // scores of these random-init SPA models are exactly equal for input and reference, and a score that is
          // exactly 0 on one backend and ~1e-9 on the other (summation order) takes a different branch; that
          // gives ~0.2 % (L2) differences on SPA — the same would happen between PyTorch on CPU and GPU.
          const error = relativeL2(fastMaps[i]!.data, cpu[i]!.data);
          assert.ok(error < 2e-2, `${spec.arch} ${m.name}: ${fast} differs from cpu by ${error} (relative L2)`);
        } else if (m.name.startsWith('LRP')) {
          // The rules divide by z_ρ + ε·sign: where a unit's z_ρ is ~0 (z⁺ of LeakyReLU outputs near 0), the backends'
          // rounding of z_ρ shows in that unit's share, as for DeepLift's Δin.
          const error = relativeL2(fastMaps[i]!.data, cpu[i]!.data);
          assert.ok(error < 1e-2, `${spec.arch} ${m.name}: ${fast} differs from cpu by ${error} (relative L2)`);
        } else if (m.name === 'Occlusion') {
          // Occlusion is a difference of two nearly equal logits (a random-init SPA barely reacts to a patch), so the
          // backends' float32 rounding of each logit (~1e-7 relative) shows at the percent level of the differences.
          const error = scaledError(fastMaps[i]!.data, cpu[i]!.data);
          assert.ok(error < 5e-2, `${spec.arch} ${m.name}: ${fast} differs from cpu by ${error} of the largest value`);
        } else {
          const error = scaledError(fastMaps[i]!.data, cpu[i]!.data);
          assert.ok(error < 1e-4, `${spec.arch} ${m.name}: ${fast} differs from cpu by ${error} of the largest value`);
        }
      });
    }
    x.dispose();
    model.dispose();
  }
});
