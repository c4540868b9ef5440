import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkReportInBrowser } from '../report/browser-check.js';
import { UserError } from '../../src/io/index.js';
import {
  canonicalJson, checkSamples, configDifferences, planStudy, readStudyConfig, studyConfig, studyModels, studyProfile, STUDY_FILE, type StudyConfig, type StudyManifest,
} from '../../src/study/index.js';
import { BIN, CLI_TIMEOUT_MS, fiveband } from '../helpers/cli.js';

/**
 * Every architecture, a method of each family, a null and the ground truth, checks on two samples and methods, on a
 * handful of 64 px cells with one epoch of tiny models: seconds, not minutes.
 */
function tinyConfig(): StudyConfig {
  const config = studyProfile('quick', 5, 'wasm');
  config.methods = ['Saliency', 'DeepLift', 'GuidedGradCam', 'GradCam', 'NullUniform', 'GroundTruth'];
  config.sanity = { samples: 2, points: 2, methods: ['Saliency', 'NullUniform'] };
  config.conditioning = { samples: 2, methods: ['Saliency', 'GroundTruth'] };
  config.dataset = { size: 64, classes: 10, shards: { train: 2, val: 1, test: 1 }, perShard: 6 };
  config.branches = 1;
  config.depths = [1];
  config.pretrained = null;
  const tiny = { inputSize: 64, width: 0.0625, epochs: 1, branchEpochs: 1, lrDecayEpoch: null, lrWarmup: 0, batchSize: 4 };
  config.hyper = { alexnet: tiny, vgg16: tiny, resnet34: tiny, 'alexnet-depth': tiny, spa: { ...tiny, width: 0.5 } };
  return config;
}

let root: string;
let configFile: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fiveband-study-'));
  configFile = join(root, 'tiny.json');
  await writeFile(configFile, JSON.stringify(tinyConfig()));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('study plan', () => {
  it('is a task graph in dependency order: unique ids, known dependencies, disjoint outputs, a report last', () => {
    for (const config of [tinyConfig(), studyProfile('quick', 0, 'wasm'), studyProfile('paper', 0, 'wasm')]) {
      const tasks = planStudy(config);
      const seen = new Set<string>();
      const outputs = new Set<string>();
      for (const task of tasks) {
        assert.ok(!seen.has(task.id), `duplicate ${task.id}`);
        for (const dep of task.deps) assert.ok(seen.has(dep), `${task.id} depends on ${dep}, planned later or never`);
        for (const out of task.outputs) {
          assert.ok(!outputs.has(out), `${out} written twice`);
          outputs.add(out);
        }
        seen.add(task.id);
      }
      assert.equal(tasks.at(-1)!.id, 'report');
      assert.equal(tasks.at(-1)!.deps.length, tasks.length - 1);
    }
  });

  it('explains every method on every test shard of every branch, SPA (plus mab) and depth model; bases only train', () => {
    const config = studyProfile('paper', 0, 'wasm');
    const tasks = planStudy(config);
    const explained = studyModels(config).filter((m) => m.role !== 'base');
    assert.equal(explained.length, 3 * 5 + 1 + 8);
    const explain = tasks.filter((t) => t.kind === 'explain');
    assert.equal(explain.length, (explained.length * config.methods.length + 1) * config.dataset.shards.test);
    assert.ok(config.methods.includes('GradCam') && config.methods.includes('NullBlob') && config.methods.includes('GroundTruth'));
    // Sanity checks: one model per architecture (the first branch of each classifier, SPA), after it is trained.
    assert.deepEqual(tasks.filter((t) => t.kind === 'sanity').map((t) => t.id), ['sanity/alexnet/branch-1', 'sanity/vgg16/branch-1', 'sanity/resnet34/branch-1', 'sanity/spa']);
    assert.deepEqual(tasks.find((t) => t.id === 'sanity/spa')!.deps, ['generate', 'train/spa']);
    // The paper profile's random-label check: each classifier's base recipe on shuffled labels, before its sanity task.
    assert.deepEqual(tasks.filter((t) => t.kind === 'train-random-labels').map((t) => t.id), ['train/alexnet/random-labels', 'train/vgg16/random-labels', 'train/resnet34/random-labels']);
    assert.deepEqual(tasks.find((t) => t.id === 'sanity/vgg16/branch-1')!.deps, ['generate', 'train/vgg16/branch-1', 'train/vgg16/random-labels']);
    assert.ok(!planStudy(studyProfile('small', 0, 'wasm')).some((t) => t.kind === 'train-random-labels'), 'off by default');
    // A check's settings are part of its task (its inputs' identity): --extend reruns a check whose settings changed.
    const small = studyProfile('small', 0, 'wasm');
    const sanityOf = (c: StudyConfig) => planStudy(c).find((t) => t.id === 'sanity/vgg16/branch-1')!.settings;
    assert.notDeepEqual(sanityOf({ ...small, sanity: { ...small.sanity!, randomLabels: true } }), sanityOf(small));
    assert.deepEqual(sanityOf({ ...small, methods: [...small.methods, 'Occlusion'], sanity: { ...small.sanity!, methods: ['Saliency'] } }),
      sanityOf({ ...small, sanity: { ...small.sanity!, methods: ['Saliency'] } }), 'a method outside the check does not touch it');
    // A method that does not apply to an architecture is left out there (LRP on SPA), not run to fail.
    const lrp = { ...studyProfile('small', 0, 'wasm'), methods: ['Saliency', 'LRP'] };
    const withLrp = planStudy(lrp).filter((t) => t.kind === 'explain' && t.method === 'LRP').map((t) => t.model!.arch);
    assert.ok(withLrp.includes('resnet34') && !withLrp.includes('spa'));
    assert.deepEqual(tasks.filter((t) => t.kind === 'conditioning').map((t) => t.id), ['conditioning/alexnet/branch-1', 'conditioning/vgg16/branch-1', 'conditioning/resnet34/branch-1', 'conditioning/spa']);
    // The checks take at most the test split's samples, and need two.
    const few = studyConfig('quick', { testSamples: 3 }).config;
    assert.equal(checkSamples(few, few.sanity!.samples), 3);
    const one = studyConfig('quick', { testSamples: 1 }).config;
    assert.ok(!planStudy(one).some((t) => t.kind === 'sanity' || t.kind === 'conditioning'));
    for (const m of explained) {
      assert.ok(tasks.some((t) => t.id === `score/${m.key}`) && tasks.some((t) => t.id === `eval/${m.key}`), m.key);
    }
    assert.ok(explain.some((t) => t.model!.key === 'spa' && t.method === 'mab'));
    assert.ok(!explain.some((t) => t.model!.role === 'base'));
    const branch = tasks.find((t) => t.id === 'train/vgg16/branch-3')!;
    assert.deepEqual(branch.deps, ['generate', 'train/vgg16/base']);
  });

  it('weighs training by epochs: SPA, the longest training of the small profile, is scheduled first; more epochs cost more', () => {
    const small = studyProfile('small', 0, 'wasm');
    const training = planStudy(small).filter((t) => t.kind.startsWith('train')).sort((a, b) => b.cost - a.cost);
    assert.equal(training[0]!.id, 'train/spa');
    assert.ok(training.findIndex((t) => t.id === 'train/alexnet-depth/k8') < training.findIndex((t) => t.id === 'train/alexnet-depth/k1'));
    const cost = (c: StudyConfig, id: string) => planStudy(c).find((t) => t.id === id)!.cost;
    const longer = { ...small, hyper: { ...small.hyper, resnet34: { epochs: 16 } } };
    assert.equal(cost(longer, 'train/resnet34/base'), 2 * cost(small, 'train/resnet34/base'));
    assert.ok(cost(small, 'train/resnet34/branch-1') < cost(small, 'train/resnet34/base'));
  });

  it('shipped weights replace training only when the settings that made them are the profile\'s', () => {
    const plain = studyConfig('quick');
    assert.equal(plain.config.pretrained, 'quick');
    assert.equal(plain.note, null);
    assert.ok(!planStudy(plain.config).some((t) => t.kind.startsWith('train')));
    assert.ok(planStudy(plain.config).some((t) => t.kind === 'pretrained'));
    assert.equal(studyConfig('quick', { archs: ['spa'], methods: ['Saliency'], backend: 'cpu' }).config.pretrained, 'quick');
    const seeded = studyConfig('quick', { seed: 3 });
    assert.equal(seeded.config.pretrained, null);
    assert.match(seeded.note!, /seed/);
    assert.equal(studyConfig('quick', { retrain: true }).config.pretrained, null);
    assert.match(studyConfig('quick', { size: 96 }).note!, /dataset/);
    // Fewer test samples never shaped a model: the shipped weights still apply (a quick first look).
    const look = studyConfig('quick', { testSamples: 10 });
    assert.equal(look.config.pretrained, 'quick');
    assert.equal(look.note, null);
    assert.equal(look.config.dataset.testPerShard, 10);
    assert.equal(look.config.dataset.perShard, 100); // the training data stay the profile's (with --retrain too)
    assert.throws(() => studyConfig('small', { methods: ['Sailency'] }), UserError);
  });

  it('a config file is checked field by field; key order never makes two configs differ', async () => {
    const read = await readStudyConfig(configFile);
    assert.deepEqual(read, tinyConfig());
    assert.deepEqual(configDifferences(read, tinyConfig()), []);
    assert.equal(canonicalJson({ b: 1, a: { d: [2, { y: 1, x: 0 }], c: null } }), '{"a":{"c":null,"d":[2,{"x":0,"y":1}]},"b":1}');
    assert.deepEqual(configDifferences(read, { ...tinyConfig(), hyper: { spa: tinyConfig().hyper.spa! } }), ['hyper']);
    // Every profile's config, as study.json stores it, reads back as itself (e.g. hyper {} names no architecture).
    for (const profile of ['quick', 'small', 'paper'] as const) {
      const { config } = studyConfig(profile, {});
      const file = join(root, `${profile}.json`);
      await writeFile(file, JSON.stringify(config));
      assert.deepEqual(await readStudyConfig(file), config);
    }
    const bad = join(root, 'bad.json');
    for (const [text, pattern] of [
      ['{', /not valid JSON/],
      [JSON.stringify({ ...tinyConfig(), methods: ['Nope'] }), /methods\.0/],
      [JSON.stringify({ ...tinyConfig(), extra: 1 }), /config/],
      [JSON.stringify({ ...tinyConfig(), dataset: { ...tinyConfig().dataset, size: 32 } }), /dataset\.size/],
    ] as const) {
      await writeFile(bad, text);
      await assert.rejects(readStudyConfig(bad), (err: Error) => err instanceof UserError && pattern.test(err.message));
    }
  });
});

/** Files whose bytes must not depend on interruptions: scores, evaluations, weights, attributions, report data. */
async function deterministicFiles(run: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const walk = async (rel: string) => {
    for (const e of await readdir(join(run, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(path);
      else if (/\.(csv|safetensors)$/.test(e.name) || path.startsWith('eval/') || path === 'report/data.json' || /scores\/.*summary\.json$/.test(path)) {
        files.set(path, await readFile(join(run, path)));
      }
    }
  };
  await walk('');
  return files;
}

async function finishedTasks(run: string): Promise<number> {
  try {
    return Object.keys((JSON.parse(await readFile(join(run, STUDY_FILE), 'utf8')) as StudyManifest).tasks).length;
  } catch {
    return 0;
  }
}

/** Starts the study and kills it with SIGKILL once `after` tasks are recorded. */
async function killAfter(run: string, afterTasks: number): Promise<void> {
  const child = spawn(process.execPath, [BIN, 'study', '--config', configFile, '--out', run, '--workers', '2'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  for (;;) {
    if ((await finishedTasks(run)) >= afterTasks || child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  await exited;
}

/** The uninterrupted tiny run's files, which later tests compare against. */
let reference: Map<string, Buffer>;

describe('a folder that is not a study run', () => {
  it('is refused before the lock walks it: a dead writer\'s temp-named file deep inside stays', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fiveband-not-a-study-'));
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    const temp = join(dir, 'a', 'b', `notes.txt.tmp-${dead}-0123abcd`);
    await mkdir(dirname(temp), { recursive: true });
    await writeFile(temp, 'someone else\'s file');
    const r = fiveband('study', '--profile', 'quick', '--out', dir, '--workers', '1');
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /is not empty and holds no study\.json/);
    assert.ok(existsSync(temp));
  });
});

describe('fiveband study (a tiny study end to end)', () => {
  const run = () => join(root, 'run');

  it('runs every stage, writes the manifest and the report, and a rerun only verifies', async (t) => {
    const first = fiveband('study', '--config', configFile, '--out', run(), '--workers', '2');
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /report: .*report\/index\.html/);
    const manifest = JSON.parse(await readFile(join(run(), STUDY_FILE), 'utf8')) as StudyManifest;
    const tasks = planStudy(tinyConfig());
    assert.deepEqual(Object.keys(manifest.tasks).sort(), tasks.map((t) => t.id).sort());
    assert.deepEqual(manifest.config, tinyConfig());
    assert.ok(Object.values(manifest.tasks).every((t) => t.wallSeconds >= 0 && Object.keys(t.outputs).length > 0));
    assert.equal(manifest.machine.cores > 0, true);
    for (const key of ['alexnet/branch-1', 'vgg16/branch-1', 'resnet34/branch-1', 'spa', 'alexnet-depth/k1']) {
      const evaluation = JSON.parse(await readFile(join(run(), 'eval', `${key}.json`), 'utf8')) as { total: number };
      assert.equal(evaluation.total, 6, key);
    }
    assert.ok(existsSync(join(run(), 'explain/spa/scores/mab/mab.csv')));
    assert.ok(existsSync(join(run(), 'explain/resnet34/branch-1/scores/v1-clamp/DeepLift.csv')));
    const sanity = JSON.parse(await readFile(join(run(), 'sanity/spa/sanity.json'), 'utf8')) as { samples: number; trained: Record<string, unknown> };
    assert.equal(sanity.samples, 2);
    assert.deepEqual(Object.keys(sanity.trained), ['Saliency', 'NullUniform', 'mab']);
    assert.ok(existsSync(join(run(), 'report/index.html')));
    assert.ok(!existsSync(join(run(), '.fiveband.lock')), 'the lock is released');
    reference = await deterministicFiles(run());
    assert.ok(reference.size > 100, `${reference.size} files`);

    const again = fiveband('study', '--config', configFile, '--out', run(), '--workers', '1');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /: 0 tasks run, \d+ verified and kept/);
    const data = JSON.parse(await readFile(join(run(), 'report/data.json'), 'utf8')) as { figures: Record<string, unknown> };
    for (const id of ['fig3a', 'fig4', 'ranking', 'sanity', 'conditioning']) assert.ok(id in data.figures, `figure ${id} shown`);
    const files: string[] = [];
    for (const sub of ['figures', 'images']) for (const f of await readdir(join(run(), 'report', sub))) files.push(`${sub}/${f}`);
    await checkReportInBrowser(t, { dir: join(run(), 'report'), index: join(run(), 'report/index.html'), figures: Object.keys(data.figures), files });
  });

  it('killed with SIGKILL twice, the same command completes with byte-identical outputs', async () => {
    const killed = join(root, 'killed');
    const interrupted = new Map<string, number>();
    const readManifest = async () => JSON.parse(await readFile(join(killed, STUDY_FILE), 'utf8')) as StudyManifest;
    for (const after of [5, 30]) {
      await killAfter(killed, after);
      for (const [id, u] of Object.entries((await readManifest()).unfinished ?? {})) interrupted.set(id, u.seconds);
    }
    assert.ok(interrupted.size > 0, 'a task was running at a kill');
    const done = fiveband('study', '--config', configFile, '--out', killed, '--workers', '2');
    assert.equal(done.code, 0, done.stderr);
    // A task cut short by a kill ran again; its wall time counts the killed attempt too.
    const final = await readManifest();
    for (const [id, seconds] of interrupted) {
      const task = final.tasks[id]!;
      assert.ok((task.attempts ?? 1) >= 2 && task.wallSeconds >= seconds, `${id}: ${task.attempts} attempts, ${task.wallSeconds} s after ${seconds} s`);
    }
    assert.deepEqual(final.unfinished, {});
    const files = await deterministicFiles(killed);
    assert.deepEqual([...files.keys()].sort(), [...reference.keys()].sort());
    for (const [path, bytes] of files) assert.ok(bytes.equals(reference.get(path)!), `${path} differs after the kills`);
  });

  it('refuses another config, a folder of other files, and a second writer: one line, exit 2', async () => {
    const other = join(root, 'other.json');
    await writeFile(other, JSON.stringify({ ...tinyConfig(), seed: 6 }));
    const differs = fiveband('study', '--config', other, '--out', run());
    assert.equal(differs.code, 2);
    assert.match(differs.stderr, /^fiveband: .* holds a study with a different seed; use another --out or the same settings\n$/);

    const cluttered = join(root, 'cluttered');
    await mkdir(cluttered);
    await writeFile(join(cluttered, 'notes.txt'), 'mine');
    const clutter = fiveband('study', '--config', configFile, '--out', cluttered);
    assert.equal(clutter.code, 2);
    assert.match(clutter.stderr, /^fiveband: .* is not empty and holds no study\.json; choose an empty or new --out\n$/);

    await writeFile(join(run(), '.fiveband.lock'), `${process.pid}\n`);
    const locked = fiveband('study', '--config', configFile, '--out', run());
    assert.equal(locked.code, 2);
    assert.match(locked.stderr, new RegExp(`^fiveband: .* is being written by another fiveband process \\(pid ${process.pid} on `));
    await writeFile(join(run(), '.fiveband.lock'), '999999999\n');
    const stale = fiveband('study', '--config', configFile, '--out', run(), '--workers', '1');
    assert.equal(stale.code, 0, `a dead writer's lock is taken over: ${stale.stderr}`);

    const bad = fiveband('study', '--profile', 'huge', '--out', join(root, 'x'));
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
  });
});

describe('fiveband study --extend', () => {
  it('adds a method to a finished run, rerunning only what it touches; other differences and dropped methods are refused', async () => {
    const finished = join(root, 'killed'); // the completed copy of the tiny run
    const before = JSON.parse(await readFile(join(finished, STUDY_FILE), 'utf8')) as StudyManifest;
    const more: StudyConfig = { ...tinyConfig(), methods: [...tinyConfig().methods, 'NullEdges'] };
    const moreFile = join(root, 'more.json');
    await writeFile(moreFile, JSON.stringify(more));
    const plain = fiveband('study', '--config', moreFile, '--out', finished);
    assert.equal(plain.code, 2);
    assert.match(plain.stderr, /^fiveband: .* holds a study with a different methods; use another --out or the same settings; --extend adds them to the run, keeping its models\n$/);
    const fewerFile = join(root, 'fewer.json');
    await writeFile(fewerFile, JSON.stringify({ ...more, methods: more.methods.filter((m) => m !== 'DeepLift') }));
    const fewer = fiveband('study', '--config', fewerFile, '--out', finished, '--extend');
    assert.equal(fewer.code, 2);
    assert.match(fewer.stderr, /^fiveband: --extend only adds methods; .* also explains DeepLift\n$/);
    const seedFile = join(root, 'seed.json');
    await writeFile(seedFile, JSON.stringify({ ...more, seed: 6 }));
    assert.match(fiveband('study', '--config', seedFile, '--out', finished, '--extend').stderr, /different seed, methods; use another --out or the same settings\n$/);

    const extended = fiveband('study', '--config', moreFile, '--out', finished, '--extend', '--workers', '2');
    assert.equal(extended.code, 0, extended.stderr);
    const after = JSON.parse(await readFile(join(finished, STUDY_FILE), 'utf8')) as StudyManifest;
    assert.deepEqual(after.config, more);
    assert.deepEqual(after.sessions.at(-1)!.extended, ['methods']);
    // The new method's explanations, every model's scores and the report; the checks keep their own method lists.
    const old = new Set(planStudy(tinyConfig()).map((t) => t.id));
    const expected = planStudy(more).filter((t) => !old.has(t.id) || ['score', 'report'].includes(t.kind)).map((t) => t.id).sort();
    assert.ok(expected.includes('explain/spa/NullEdges/0'));
    const rerun = Object.keys(after.tasks).filter((id) => after.tasks[id]!.finishedAt !== before.tasks[id]?.finishedAt).sort();
    assert.deepEqual(rerun, expected);
    // Kept results are the same files, and the methods rescored beside the new one score as before.
    const files = await deterministicFiles(finished);
    const methods = [...tinyConfig().methods, 'mab'];
    const aggregate = (path: string) => path.includes('/scores/') && !methods.includes(/([A-Za-z]+)\.csv$/.exec(path)?.[1] ?? '');
    for (const [path, bytes] of reference) {
      if (path.startsWith('report/') || aggregate(path)) continue;
      assert.ok(files.get(path)?.equals(bytes), `${path} changed`);
    }
  });
});

describe('shipped weights', () => {
  it('packed from a run, they replace training in a new run with identical scores; a corrupt file is one line, exit 2', async () => {
    const weights = join(root, 'weights');
    const env = { ...process.env, FIVEBAND_WEIGHTS: weights };
    const run = (...args: string[]) => {
      const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env, timeout: CLI_TIMEOUT_MS });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const packed = run('pack-weights', '--name', 'tiny', '--command', 'fiveband study --config tiny.json', '--', join(root, 'run'));
    assert.equal(packed.code, 0, packed.stderr);
    const manifest = JSON.parse(await readFile(join(weights, 'tiny', 'manifest.json'), 'utf8')) as { models: Record<string, unknown>; commands: string[] };
    assert.deepEqual(Object.keys(manifest.models).sort(), ['alexnet-depth/k1', 'alexnet/branch-1', 'resnet34/branch-1', 'spa', 'vgg16/branch-1']);
    assert.deepEqual(manifest.commands, ['fiveband study --config tiny.json']);

    const shippedConfig = join(root, 'shipped.json');
    await writeFile(shippedConfig, JSON.stringify({ ...tinyConfig(), pretrained: 'tiny' }));
    const shipped = join(root, 'shipped');
    const r = run('study', '--config', shippedConfig, '--out', shipped, '--workers', '2');
    assert.equal(r.code, 0, r.stderr);
    const manifestOfRun = JSON.parse(await readFile(join(shipped, STUDY_FILE), 'utf8')) as StudyManifest;
    assert.ok(!Object.values(manifestOfRun.tasks).some((t) => t.kind.startsWith('train')), 'nothing trained');
    const dataset = JSON.parse(await readFile(join(shipped, 'dataset/manifest.json'), 'utf8')) as { splits: Record<string, { shardCount: number }> };
    assert.deepEqual([dataset.splits.train!.shardCount, dataset.splits.val!.shardCount, dataset.splits.test!.shardCount], [0, 0, 1], 'only the test split');
    const files = await deterministicFiles(shipped);
    for (const [path, bytes] of files) {
      if (path.startsWith('dataset/') || path === 'report/data.json') continue;
      assert.ok(bytes.equals(reference.get(path)!), `${path} equals the run that trained the models`);
    }

    const otherRecipe = join(root, 'other-recipe.json');
    const changed = tinyConfig();
    changed.hyper.spa = { ...changed.hyper.spa, lr: 0.5 };
    await writeFile(otherRecipe, JSON.stringify({ ...changed, pretrained: 'tiny' }));
    const stale = run('study', '--config', otherRecipe, '--out', join(root, 'stale'), '--workers', '1');
    assert.equal(stale.code, 2);
    assert.match(stale.stderr.trimEnd().split('\n').at(-1)!, /^fiveband: train\/spa: the shipped "tiny" model spa was trained with other settings than this run's/);

    // A package whose training profiles changed after packing: the recorded hyper-parameters no longer resolve.
    const manifestPath = join(weights, 'tiny', 'manifest.json');
    const packedText = await readFile(manifestPath, 'utf8');
    const edited = JSON.parse(packedText) as { hyper: Record<string, { lr: number }> };
    assert.deepEqual(Object.keys(edited.hyper).sort(), Object.keys(manifest.models).sort());
    edited.hyper.spa!.lr *= 2;
    await writeFile(manifestPath, JSON.stringify(edited));
    const drifted = run('study', '--config', shippedConfig, '--out', join(root, 'drifted'), '--workers', '1');
    assert.equal(drifted.code, 2);
    assert.match(drifted.stderr.trimEnd().split('\n').at(-1)!, /^fiveband: train\/spa: the shipped "tiny" model spa was trained with other settings than this run's/);
    await writeFile(manifestPath, packedText);

    await writeFile(join(weights, 'tiny', 'spa', 'weights.safetensors'), 'damaged');
    const broken = run('study', '--config', shippedConfig, '--out', join(root, 'broken'), '--workers', '1');
    assert.equal(broken.code, 2);
    const lastLine = broken.stderr.trimEnd().split('\n').at(-1)!; // progress lines come first on stderr
    assert.match(lastLine, /^fiveband: train\/spa: .*weights\.safetensors: missing or corrupt \(sha256 differs from weights\/tiny\/manifest\.json\); reinstall the package or use --retrain$/);
    assert.equal(broken.stderr.split('\n').filter((l) => l.startsWith('fiveband:')).length, 1, 'one error line');
  });
});
