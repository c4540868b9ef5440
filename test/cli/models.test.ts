import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const bin = fileURLToPath(new URL('../../../bin/fiveband.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [bin, 'models', ...args], { encoding: 'utf8' });

test('fiveband models prints the layer table and the reference parameter count', () => {
  const r = run('--arch', 'spa');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^spa: input \[3, 512, 512\], 10 classes, width 1, first conv convs\.0$/m);
  assert.match(r.stdout, /^convs\.0\s+Conv2d\s+\[7, 253, 253\]\s+1,036$/m);
  assert.match(r.stdout, /^mab\.3\s+ConvTranspose2d\s+\[3, 527, 527\]\s+189$/m);
  assert.match(r.stdout, /^Trainable params: 82,376$/m);
  assert.match(run('--arch', 'spa', '--size', '256', '--classes', '3').stdout, /^Trainable params: 66,241$/m);
  assert.match(run('--arch', 'alexnet-depth', '--depth', '5', '--width', '0.5').stdout, /depth 5.*\n(.*\n)*block4\.act/);
});

test('fiveband models without --arch prints all five architectures', () => {
  const r = run('--size', '64', '--width', '0.25');
  assert.equal(r.status, 0, r.stderr);
  for (const arch of ['alexnet', 'vgg16', 'resnet34', 'spa', 'alexnet-depth']) assert.match(r.stdout, new RegExp(`^${arch}: input \\[3, 64, 64\\]`, 'm'));
});

test('fiveband models: bad arguments are one line on stderr and exit code 2', () => {
  for (const args of [['--arch', 'lenet'], ['--size', '0'], ['--size', 'abc'], ['--width', '-1'], ['--classes', '1'], ['--arch', 'vgg16', '--size', '16'], ['--depth', 'x'], ['--arch', 'spa', '--depth', '3']]) {
    const r = run(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^fiveband: /);
  }
});
