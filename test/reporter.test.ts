import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { NO_TORCH, torchAvailable } from './python-torch.js';
import reporter, { type TestEvent } from './reporter.js';

async function report(events: TestEvent[]): Promise<string> {
  async function* source() {
    yield* events;
  }
  let out = '';
  for await (const chunk of reporter(source())) out += chunk;
  return out;
}

test('the npm test reporter: a dot per passing test, skipped tests by name with the reason, failures in full, the summary lines', async () => {
  const error = Object.assign(new Error('test failed'), { code: 'ERR_TEST_FAILURE', failureType: 'testCodeFailure', cause: new Error('1 !== 2') });
  const out = await report([
    { type: 'test:stdout', data: { file: '/x/b.test.js', message: 'printed by b\n' } },
    { type: 'test:stdout', data: { file: '/x/a.test.js', message: 'printed by a\n' } },
    { type: 'test:pass', data: { name: 'adds', nesting: 0, file: '/x/a.test.js' } },
    { type: 'test:pass', data: { name: 'inner', nesting: 1, file: '/x/a.test.js' } },
    { type: 'test:pass', data: { name: 'compares with PyTorch', nesting: 0, file: '/x/torch.test.js', skip: NO_TORCH } },
    { type: 'test:fail', data: { name: 'divides', nesting: 1, file: '/x/b.test.js', details: { error } } },
    { type: 'test:fail', data: { name: 'suite', nesting: 0, file: '/x/b.test.js', details: { error: Object.assign(new Error('1 subtest failed'), { failureType: 'subtestsFailed' }) } } },
    { type: 'test:diagnostic', data: { nesting: 0, message: 'tests 3' } },
    { type: 'test:diagnostic', data: { nesting: 0, message: 'pass 2' } },
    { type: 'test:diagnostic', data: { nesting: 0, message: 'fail 1' } },
    { type: 'test:diagnostic', data: { nesting: 0, message: 'skipped 1' } },
  ]);
  const lines = out.split('\n');
  assert.equal(lines[0], '.s', 'the marks so far, then the failure at once (a run that hangs later still shows it)');
  assert.match(lines[1], /^✖ divides \(.*b\.test\.js\)$/);
  const mark = lines.indexOf('X');
  assert.ok(mark > 1 && mark < lines.findIndex((l) => l.startsWith('- skipped')), 'the failed test\'s mark follows its report');
  assert.match(out, /^- skipped: compares with PyTorch \(.*torch\.test\.js\): python3 torch not installed$/m);
  assert.equal(out.match(/^✖ divides \(.*b\.test\.js\)\n {4}Error: 1 !== 2$/gm)?.length, 2, 'shown as it happens and again at the end');
  assert.doesNotMatch(out, /✖ suite/, 'a suite failing through its tests is not repeated');
  assert.match(out, /output of .*b\.test\.js:\n {2}printed by b\n/);
  assert.doesNotMatch(out, /printed by a/, 'the output of passing files is not shown');
  assert.deepEqual(lines.filter((l) => l.startsWith('# ')), ['# tests 3', '# pass 2', '# fail 1', '# skipped 1']);
});

test('without python3 torch, the PyTorch comparisons are registered and reported as skipped by name with the reason',
  { skip: torchAvailable ? 'python3 torch is installed: the comparisons run' : false }, () => {
    const dist = (path: string) => fileURLToPath(new URL(path, import.meta.url));
    // A run of its own, not a child of this one (node:test marks its children with NODE_TEST_CONTEXT).
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT'));
    const r = spawnSync(process.execPath, ['--test', `--test-reporter=${dist('./reporter.js')}`, dist('./nn/torch.test.js'), dist('./attribution/torch.test.js')], { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^- skipped: PyTorch twins loading our weights give the same outputs, gradients and BatchNorm statistics \(.*\): python3 torch not installed$/m);
    assert.match(r.stdout, /^- skipped: our methods equal PyTorch twins of Captum's methods on every small architecture \(same weights\) \(.*\): python3 torch not installed$/m);
    assert.match(r.stdout, /^# skipped 2$/m);
  });
