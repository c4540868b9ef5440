import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { getMethod, resolveMethods } from '../../src/attribution/index.js';
import { epsilonRule, flatRule, gammaRule, LrpRule, lrpRelevance, zBoxRule, zPlusRule, type Composite } from '../../src/attribution/lrp.js';
import { UserError } from '../../src/io/index.js';
import { createModel, type ArchSpec, type LinearForward, type Model } from '../../src/nn/index.js';
import { randomImages, useCpu } from '../nn/helpers.js';

before(useCpu);

/** A model whose activations are not tiny: every weight ×`gain` (relevance absorbed by ε stays negligible). */
function model(spec: ArchSpec, gain: number, bias: boolean): Model {
  const m = createModel(spec, 7);
  for (const [name, v] of m.trainable) v.assign(name.endsWith('.bias') ? (bias ? tf.mul(v, gain) : tf.zerosLike(v)) : tf.mul(v, gain));
  return m;
}

const sums = (t: tf.Tensor4D) => tf.tidy(() => Array.from(tf.sum(t, [1, 2, 3]).dataSync()));
const targetLogits = (m: Model, x: tf.Tensor4D, targets: number[]) => tf.tidy(() => {
  const logits = m.forward(x).logits.arraySync();
  return targets.map((t, i) => logits[i]![t]!);
});

const RESNET: ArchSpec = { arch: 'resnet34', inputSize: 32, numClasses: 4, width: 0.0625 };

describe('LRP', () => {
  const specs: ArchSpec[] = [
    { arch: 'alexnet', inputSize: 64, numClasses: 4, width: 0.0625 },
    { arch: 'vgg16', inputSize: 32, numClasses: 4, width: 0.0625 },
    { arch: 'alexnet-depth', inputSize: 64, numClasses: 4, width: 0.0625, depth: 2 },
  ];

  it('conserves relevance without biases: the input relevance sums to the target logit, under every rule', () => {
    const tiny = 1e-12; // ε small enough that it absorbs nothing measurable
    const composites: Record<string, Composite> = {
      epsilon: { input: epsilonRule(tiny), conv: epsilonRule(tiny), linear: epsilonRule(tiny) },
      'z+': { input: zPlusRule(tiny), conv: zPlusRule(tiny), linear: epsilonRule(tiny) },
      gamma: { input: gammaRule(0.25, tiny), conv: gammaRule(0.25, tiny), linear: epsilonRule(tiny) },
      'zB + γ': { input: zBoxRule(0, 1, tiny), conv: gammaRule(0.25, tiny), linear: epsilonRule(tiny) },
      'flat + ε': { input: flatRule(tiny), conv: epsilonRule(tiny), linear: epsilonRule(tiny) },
    };
    // ResNet34: BatchNorm and the residual sums take plain gradients (no shift without biases and fresh statistics);
    // gain 1, as 34 layers of gain 3 would overflow.
    for (const [spec, gain] of [...specs.map((s) => [s, 3] as const), [RESNET, 1] as const]) {
      const m = model(spec, gain, false);
      const x = randomImages(3, spec.inputSize);
      const targets = [0, 1, 3];
      const logits = targetLogits(m, x, targets);
      for (const [name, composite] of Object.entries(composites)) {
        // z⁺ and γ drop what a convolution's negative outputs carry, which ResNet's residual sums pass on: ε only there.
        if (spec.arch === 'resnet34' && !['epsilon', 'flat + ε'].includes(name)) continue;
        const relevance = lrpRelevance(m, x, targets, composite);
        sums(relevance).forEach((s, i) => assert.ok(Math.abs(s - logits[i]!) <= 1e-3 * Math.abs(logits[i]!) + 1e-9,
          `${spec.arch} ${name}: Σ R = ${s}, logit ${logits[i]}`));
        relevance.dispose();
      }
      x.dispose();
      m.dispose();
    }
  });

  it('LRP-ε with ε → 0 equals gradient × input on ReLU networks, biases and BatchNorm included (Ancona et al. 2018)', () => {
    for (const spec of [...specs.slice(0, 2), RESNET]) {
      const m = model(spec, 3, true);
      const x = randomImages(2, spec.inputSize);
      const lrp = getMethod('LRP').attribute(m, x, [1, 2]).data;
      const ixg = getMethod('InputXGradient').attribute(m, x, [1, 2]).data;
      const scale = Math.max(...ixg.map(Math.abs));
      lrp.forEach((v, i) => assert.ok(Math.abs(v - ixg[i]!) <= 1e-4 * scale, `${spec.arch} at ${i}: ${v} vs ${ixg[i]}`));
      x.dispose();
      m.dispose();
    }
  });

  it('ResNet34 under LRP: BatchNorm merged into its convolution keeps every value; the composites differ there too', () => {
    const m = createModel(RESNET, 5);
    // Statistics and affine parameters away from 0 / 1, so that the merge has something to get wrong.
    for (const [name, v] of [...m.trainable, ...m.buffers]) {
      if (/bn1?\.(weight|bias)$|downsample\.1\.(weight|bias)$|\.bn2\.(weight|bias)$/.test(name)) v.assign(tf.add(v, tf.randomUniform(v.shape, 0.1, 0.5, 'float32', 3)));
      if (name.endsWith('running_mean')) v.assign(tf.randomUniform(v.shape, -0.2, 0.2, 'float32', 4));
      if (name.endsWith('running_var')) v.assign(tf.randomUniform(v.shape, 0.5, 2, 'float32', 5));
    }
    const x = randomImages(1, RESNET.inputSize);
    const plain = tf.tidy(() => Array.from(m.forward(x).logits.dataSync()));
    const merged = tf.tidy(() => Array.from(m.forward(x, { rule: new LrpRule({ input: epsilonRule(1e-9), conv: epsilonRule(1e-9), linear: epsilonRule(1e-9) }) }).logits.dataSync()));
    merged.forEach((v, i) => assert.ok(Math.abs(v - plain[i]!) <= 1e-4 * Math.max(1, Math.abs(plain[i]!)), `logit ${i}: ${v} vs ${plain[i]}`));
    const epsilon = getMethod('LRP').attribute(m, x, [1]).data;
    const ixg = getMethod('InputXGradient').attribute(m, x, [1]).data;
    const scale = Math.max(...ixg.map(Math.abs));
    epsilon.forEach((v, i) => assert.ok(Math.abs(v - ixg[i]!) <= 1e-3 * scale, `ε rule vs InputXGradient at ${i}: ${v} vs ${ixg[i]}`));
    const box = getMethod('LRPEpsilonGammaBox').attribute(m, x, [1]).data;
    assert.ok(box.some((v, i) => Math.abs(v - epsilon[i]!) > 1e-6 * scale), 'EpsilonGammaBox differs from ε');
    x.dispose();
    m.dispose();
  });

  it('ResNet34 under LRP: the merged weights kept between passes follow parameter updates and are freed with the model', () => {
    const before = tf.memory().numTensors;
    const m = createModel(RESNET, 6);
    const x = randomImages(1, RESNET.inputSize);
    const lrp = getMethod('LRP');
    lrp.attribute(m, x, [1]); // merges and keeps every convolution-BatchNorm pair
    tf.tidy(() => {
      for (const [name, v] of m.buffers) if (name.endsWith('running_var')) v.assign(tf.randomUniform(v.shape, 0.5, 2, 'float32', 7));
    });
    const updated = lrp.attribute(m, x, [1]).data;
    // A fresh model with the updated parameters computes everything anew.
    const fresh = createModel(RESNET, 6);
    tf.tidy(() => {
      for (const [name, v] of fresh.buffers) v.assign(tf.clone(m.buffers.get(name)!));
    });
    assert.deepEqual(lrp.attribute(fresh, x, [1]).data, updated);
    fresh.dispose();
    m.dispose();
    x.dispose();
    assert.equal(tf.memory().numTensors, before, 'no tensor outlives the models');
  });

  it('zB and flat on the input layer, by hand on one linear layer: R_i = (x_i w_i − l w⁺_i − h w⁻_i) z / Σ(…), and z / n', () => {
    const [inputs, n] = [4, 1];
    const w = [0.5, -1, 2, -0.25];
    const bias = 0.3;
    const x = [0.2, 0.9, 0, 0.6];
    // One linear unit on the flattened 1 × 1 × 4 "image", through the rule's input-layer hook as a real model's first layer.
    const weight = tf.tensor2d(w, [inputs, 1]);
    const single: Model = {
      spec: { arch: 'alexnet', inputSize: 1, numClasses: 1, width: 1 }, layerNames: ['fc'], firstConv: 'fc', trainable: new Map(), buffers: new Map(),
      forward(input, options = {}) {
        const run: LinearForward = (t, rho = (p) => p, o = {}) => {
          const y = tf.matMul(tf.reshape(t, [t.shape[0]!, inputs]), rho(weight));
          return o.bias === false ? y : tf.add(y, rho(tf.scalar(bias)));
        };
        const flat = tf.reshape(input, [input.shape[0]!, inputs]);
        return { logits: (options.rule?.applyLinear ? options.rule.applyLinear('linear', 'fc', flat, run, true) : run(flat)) as tf.Tensor2D };
      },
      dispose() {},
    };
    const image = tf.tensor4d(x, [n, 1, 1, inputs]);
    const z = w.reduce((s, wi, i) => s + wi * x[i]!, bias);
    const [low, high] = [0, 1];
    const terms = w.map((wi, i) => x[i]! * wi - low * Math.max(wi, 0) - high * Math.min(wi, 0));
    const den = z - w.reduce((s, wi) => s + low * Math.max(wi, 0) + high * Math.min(wi, 0), 0);
    const zb = lrpRelevance(single, image, [0], { input: zBoxRule(low, high, 1e-12), conv: epsilonRule(1e-12), linear: epsilonRule(1e-12) });
    Array.from(zb.dataSync()).forEach((r, i) => assert.ok(Math.abs(r - (terms[i]! * z) / den) < 1e-5, `zB ${i}: ${r} vs ${(terms[i]! * z) / den}`));
    const flat = lrpRelevance(single, image, [0], { input: flatRule(1e-12), conv: epsilonRule(1e-12), linear: epsilonRule(1e-12) });
    Array.from(flat.dataSync()).forEach((r) => assert.ok(Math.abs(r - z / inputs) < 1e-5, `flat: ${r} vs ${z / inputs}`));
    tf.dispose([weight, image, zb, flat]);
  });

  it('the composites differ from each other; they apply to ResNet34, not to SPA', () => {
    const m = model(specs[0]!, 3, true);
    const x = randomImages(2, 64);
    const plus = getMethod('LRPEpsilonPlus').attribute(m, x, [0, 1]).data;
    const gamma = getMethod('LRPEpsilonGamma').attribute(m, x, [0, 1]).data;
    const epsilon = getMethod('LRP').attribute(m, x, [0, 1]).data;
    assert.ok(plus.some((v, i) => Math.abs(v - epsilon[i]!) > 1e-6), 'EpsilonPlus and LRP differ');
    assert.ok(plus.some((v, i) => Math.abs(v - gamma[i]!) > 1e-6), 'EpsilonPlus and EpsilonGamma differ');
    const box = getMethod('LRPEpsilonGammaBox').attribute(m, x, [0, 1]).data;
    assert.ok(box.some((v, i) => Math.abs(v - gamma[i]!) > 1e-6), 'the zB input rule changes the map');
    const resnet = createModel(RESNET, 1);
    assert.deepEqual(resolveMethods('all', resnet).filter((m) => m.name.startsWith('LRP')).map((m) => m.name), ['LRP', 'LRPEpsilonPlus', 'LRPEpsilonGamma', 'LRPEpsilonGammaBox']);
    const spa = createModel({ arch: 'spa', inputSize: 48, numClasses: 4, width: 0.25 }, 1);
    assert.throws(() => getMethod('LRP').attribute(spa, randomImages(1, 48), [0]), (e: unknown) => e instanceof UserError && /does not apply to a spa model \(no LRP rule for its attention/.test(e.message));
    spa.dispose();
    assert.ok(resolveMethods('all', m).some((x) => x.name === 'LRPEpsilonGamma'));
    tf.dispose([x]);
    m.dispose();
    resnet.dispose();
  });
});
