import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fillNormal, initBackend } from '../../src/compute/index.js';
import { Rng } from '../../src/rng/index.js';
import { needsNative } from './compare.js';

test('native normal fill = Rng.fillNormal bit for bit, and the stream continues from the same state', needsNative, async () => {
  await initBackend('native');
  await fc.assert(fc.asyncProperty(fc.integer(), fc.integer({ min: 0, max: 3000 }), fc.double({ min: -2, max: 2, noNaN: true }), fc.double({ min: 0, max: 3, noNaN: true }),
    async (seed, size, mean, sd) => {
      const [js, native] = [Rng.derive('fill', seed), Rng.derive('fill', seed)];
      const expected = new Float32Array(size), actual = new Float32Array(size);
      js.fillNormal(expected, mean, sd);
      fillNormal(native, actual, mean, sd);
      assert.deepEqual(actual, expected);
      assert.equal(native.nextUint32(), js.nextUint32());
    }), { numRuns: 40, seed: 11 });
  // Millions of draws: thousands of tail (layer 0) and wedge draws, each through log or exp.
  const [js, native] = [Rng.derive('fill', 'long'), Rng.derive('fill', 'long')];
  const expected = new Float32Array(3_000_000), actual = new Float32Array(3_000_000);
  js.fillNormal(expected);
  fillNormal(native, actual);
  let differing = 0;
  for (let i = 0; i < expected.length; i++) if (!Object.is(actual[i], expected[i])) differing++;
  assert.equal(differing, 0);
  assert.ok(expected.some((v) => Math.abs(v) > 3.442619855899), 'tail draws happened');
  assert.equal(native.next(), js.next());
  await initBackend('cpu');
  const [a, b] = [Rng.derive('fill', 'cpu'), Rng.derive('fill', 'cpu')];
  const viaCompute = new Float32Array(100), direct = new Float32Array(100);
  fillNormal(a, viaCompute, 1, 2);
  b.fillNormal(direct, 1, 2);
  assert.deepEqual(viaCompute, direct, 'other backends draw in JavaScript');
});
