import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { UserError } from '../../src/io/index.js';
import { presetSetting, scoreHeatmaps, writeOutputs } from '../../src/scoring/index.js';
import { computeFindings, describeColumns, FIGURES, percentile, RunFolder, writeReport } from '../../src/report/index.js';
import { buildKnownScoreFolder, buildTinyRun, SAMPLES } from './fixture.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
let run: string;
const temporary: string[] = [];

before(async () => {
  run = await buildTinyRun();
  temporary.push(run);
});

after(async () => {
  for (const dir of temporary) await rm(dir, { recursive: true, force: true });
});

/** Width and height of an SVG document's root element (throws unless it is one). */
function svgSize(svg: string): { width: number; height: number } {
  const root = /^<svg\b[^>]*>/.exec(svg.trimStart());
  assert.ok(root, 'an <svg> root element');
  assert.ok(svg.trimEnd().endsWith('</svg>'), 'the SVG is closed');
  const width = Number(/\swidth="([\d.]+)"/.exec(root[0])?.[1]);
  const height = Number(/\sheight="([\d.]+)"/.exec(root[0])?.[1]);
  return { width, height };
}

test('a study run: every figure is built, SVGs parse with a size, PNG twins and gallery tiles decode, data.json is stable', async () => {
  const first = await writeReport(run);
  assert.equal(first.index, join(run, 'report', 'index.html'));
  assert.deepEqual(first.figures, ['fig1', 'table1', 'findings', 'ranking', 'fig3a', 'fig3b', 'fig3c', 'fig4', 'fig6', 'fig7', 'fig8', 'fig9', 'fig10', 'breakdowns', 'sanity', 'conditioning', 'depth', 'curves']);
  assert.deepEqual(first.skipped, []);
  const reportData = JSON.parse(await readFile(first.data, 'utf8')) as { figures: Record<string, { data: any }> };
  const sanityData = reportData.figures.sanity!.data.models;
  assert.deepEqual(sanityData.map((m: { model: string; insensitive: string[] }) => [m.model, m.insensitive]), [['alexnet/branch-1', ['NullBlob']]]);
  assert.deepEqual(reportData.figures.conditioning!.data.models[0].dominated, ['DeepLift']);
  // Breakdowns: per class, background and outcome cells whose sample counts add up to the model's samples.
  const cells = reportData.figures.breakdowns!.data.cells as Array<{ model: string; method: string; kind: string; n: number }>;
  const of = (kind: string) => cells.filter((c) => c.model === 'alexnet branch 1' && c.method === 'Saliency' && c.kind === kind).reduce((s, c) => s + c.n, 0);
  assert.deepEqual([of('true class'), of('background'), of('prediction')], [SAMPLES, SAMPLES, SAMPLES]);
  const rounding = reportData.figures.findings!.data.findings.filter((f: { claim: string }) => f.claim.includes('rounding'));
  assert.equal(rounding.length, 1);
  assert.equal(rounding[0].verdict, 'does not hold');
  assert.match(rounding[0].measured, /dominated: DeepLift; worst DeepLift \(one-ulp\), 50 % of samples/);

  const svgs = first.files.filter((f) => f.endsWith('.svg'));
  assert.ok(svgs.length >= 8, `charts: ${svgs.join(', ')}`);
  for (const rel of svgs) {
    const svg = await readFile(join(first.dir, rel), 'utf8');
    const { width, height } = svgSize(svg);
    assert.ok(width > 0 && height > 0, `${rel} has a size`);
    assert.doesNotMatch(svg, /(href|src)="https?:/, `${rel} loads nothing external`);
    const twin = PNG.sync.read(await readFile(join(first.dir, rel.replace(/\.svg$/, '.png'))));
    assert.ok(twin.width >= width && twin.height >= height, `${rel}'s PNG twin decodes at 2×`);
  }
  const pngs = first.files.filter((f) => f.endsWith('.png'));
  for (const rel of pngs) {
    const png = PNG.sync.read(await readFile(join(first.dir, rel)));
    assert.ok(png.width > 0 && png.height > 0, rel);
  }
  // Galleries: alexnet ran on 32 px (resized from the 64 px data), so its tiles are 32 px; SPA's 64 px.
  const fig6Tile = PNG.sync.read(await readFile(join(first.dir, 'images', 'fig6-r0-c0.png')));
  assert.equal(fig6Tile.width, 32);
  const fig10Tile = PNG.sync.read(await readFile(join(first.dir, 'images', 'fig10a-r0-c2.png')));
  assert.equal(fig10Tile.width, 64);

  const html = await readFile(first.index, 'utf8');
  assert.equal((html.match(/<section class="figure shown"/g) ?? []).length, FIGURES.length);
  assert.match(html, /<table id="findings"/);
  assert.match(html, /alexnet\/branch-2: test accuracy 85\.0 % is below 90 % — scores of a weak model/);
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//);
  assert.match(html, /k run: 1, 3/);

  const data1 = await readFile(first.data, 'utf8');
  const data = JSON.parse(data1);
  assert.equal(data.format, 'fiveband-report/1');
  assert.doesNotMatch(data1, /wallSeconds|finishedAt|startedAt/);
  assert.deepEqual(data.figures.depth.data.ks, [1, 3]);
  const points = data.figures.fig3a.data.points;
  assert.equal(points.length, 10); // 5 methods × 2 branches
  const p = points[0];
  assert.ok(p.R.ci95[0] <= p.R.mean && p.R.mean <= p.R.ci95[1], 'the mean lies inside its bootstrap interval');

  // Findings on the synthetic run: mab is the ground truth itself (R = P = 1); Saliency is the ground truth plus
  // a little noise, so its precision is far above 0.4 and its recall the highest.
  const verdicts = data.figures.findings.data.findings.map((f: { claim: string; verdict: string }) => `${f.claim}: ${f.verdict}`);
  assert.ok(verdicts.includes('mabCAM: mean recall and precision both > 0.8: holds'), verdicts.join('\n'));
  assert.ok(verdicts.includes('every other method: mean precision < 0.4: does not hold'), verdicts.join('\n'));
  assert.ok(verdicts.includes('Saliency has the highest recall: holds'), verdicts.join('\n'));

  const second = await writeReport(run);
  assert.equal(await readFile(second.data, 'utf8'), data1, 'data.json is byte-identical on a rebuild');
  assert.deepEqual(second.files, first.files);
  const leftovers = (await readdir(run)).filter((e) => e.includes('.tmp-'));
  assert.deepEqual(leftovers, [], 'no temporary folders left behind');

  // The same inputs elsewhere give the same data.json.
  const copy = await mkdtemp(join(tmpdir(), 'fiveband-report-copy-'));
  temporary.push(copy);
  await cp(run, copy, { recursive: true });
  await rm(join(copy, 'report'), { recursive: true });
  const third = await writeReport(copy);
  assert.equal(await readFile(third.data, 'utf8'), data1, 'data.json does not depend on the run folder\'s path');
});

test('findings on a constructed score folder match the numbers written into it', async () => {
  const dir = await buildKnownScoreFolder();
  temporary.push(dir);
  const result = await computeFindings(await RunFolder.open(dir));
  assert.ok(result);
  const byClaim = (claim: string) => result.findings.filter((f) => f.claim.startsWith(claim));
  const [mab] = byClaim('mabCAM');
  assert.equal(mab!.verdict, 'holds');
  assert.deepEqual([mab!.values.R, mab!.values.P], [0.9, 0.85]);
  const [precision] = byClaim('every other method');
  assert.equal(precision!.verdict, 'does not hold');
  assert.equal(precision!.values.maxP, 0.45);
  assert.equal(precision!.values.method, 'DeepLift');
  assert.equal(precision!.values.below, 1);
  const [saliency] = byClaim('Saliency');
  assert.equal(saliency!.verdict, 'does not hold');
  assert.equal(saliency!.values.bestMethod, 'DeepLift');
  assert.deepEqual(result.ranking.map((r) => [r.method, r.rankR, r.rankP]), [['Saliency', 1, 2], ['DeepLift', 2, 1]]);
});

test('a folder written by fiveband score shows only the score figures', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fiveband-report-scores-'));
  temporary.push(dir);
  const [n, size] = [3, 16];
  const bands = Int8Array.from({ length: n * size * size }, (_, k) => ((k % size) > 4 && (k % size) < 10 ? 2 : 0));
  const setting = presetSetting('v1');
  const methods = [];
  for (const [method, scale] of [['Saliency', 1], ['Noise', 0]] as const) {
    const data = Float32Array.from({ length: n * 3 * size * size }, (_, k) => (scale ? bands[Math.floor(k / (3 * size * size)) * size * size + (k % (size * size))]! : Math.sin(k)));
    methods.push({ method, scores: await scoreHeatmaps({ data, n, channels: 3, height: size, width: size }, { bands, n, height: size, width: size }, { setting }) });
  }
  await writeOutputs(dir, { setting, ids: ['a', 'b', 'c'], labels: null, methods, metricColumns: [] });
  const out = join(dir, 'my-report');
  const result = await writeReport(dir, { out });
  assert.deepEqual(result.figures, ['findings', 'ranking', 'fig3a', 'fig3b', 'fig4']);
  // Three samples cannot separate two methods (the smallest two-sided Wilcoxon p is 0.25): the ranking says so.
  const ranking = JSON.parse(await readFile(join(out, 'data.json'), 'utf8')).figures.ranking.data.sets[0].ranking;
  assert.equal(ranking.Pmu[0].method, 'Saliency');
  assert.deepEqual(ranking.Pmu[0].not_different_from, ['Noise']);
  assert.deepEqual(result.skipped.map((s) => s.id), ['fig1', 'table1', 'fig3c', 'fig6', 'fig7', 'fig8', 'fig9', 'fig10', 'breakdowns', 'sanity', 'conditioning', 'depth', 'curves']);
  const html = await readFile(join(out, 'index.html'), 'utf8');
  assert.match(html, /Not shown: this run has no/);
  assert.match(html, /fiveband score output/);
});

test('Table I: a branch row\'s training wall time sums its base model\'s training and its branches\'', async () => {
  const study = JSON.parse(await readFile(join(run, 'study.json'), 'utf8'));
  const alexnetTrainings = Object.values(study.tasks as Record<string, { kind: string; wallSeconds: number; outputs: Record<string, string> }>)
    .filter((t) => t.kind === 'train' && Object.keys(t.outputs).some((p) => p.startsWith('models/alexnet/')));
  assert.equal(alexnetTrainings.length, 3, 'the fixture trains a base and two branches');
  const expected = alexnetTrainings.reduce((sum, t) => sum + t.wallSeconds, 0);
  const table1 = FIGURES.find((f) => f.id === 'table1')!;
  const content = await table1.build(await RunFolder.open(run));
  const block = content?.blocks.find((b) => b.kind === 'table');
  assert.ok(block && block.kind === 'table');
  const wallColumn = block.columns.indexOf('training wall time');
  const row = block.rows.find((r) => r[0] === 'AlexNet');
  assert.ok(row, 'an AlexNet row');
  assert.deepEqual(row[wallColumn], { text: `${expected.toFixed(1)} s`, sort: expected });
});

test('bad folders are one-line UserErrors; the CLI exits 2; an unrelated --out folder is not replaced', async () => {
  const empty = await mkdtemp(join(tmpdir(), 'fiveband-report-bad-'));
  temporary.push(empty);
  await assert.rejects(writeReport(join(empty, 'missing')), (e: unknown) => e instanceof UserError && /no such folder/.test(e.message));
  await assert.rejects(writeReport(empty), (e: unknown) => e instanceof UserError && /not a fiveband run folder/.test(e.message));
  await writeFile(join(empty, 'study.json'), '{"format": "fiveband-study-run/1", "config": ');
  await assert.rejects(writeReport(empty), (e: unknown) => e instanceof UserError && /corrupt JSON/.test(e.message));
  const cli = spawnSync(process.execPath, ['bin/fiveband.js', 'report', empty], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(cli.status, 2);
  assert.match(cli.stderr, /^fiveband: .*study\.json: corrupt JSON/);
  assert.equal(cli.stderr.trim().split('\n').length, 1);

  const known = await buildKnownScoreFolder();
  temporary.push(known);
  const precious = join(known, 'precious');
  await mkdir(precious);
  await writeFile(join(precious, 'notes.txt'), 'keep me');
  await assert.rejects(writeReport(known, { out: precious }), (e: unknown) => e instanceof UserError && /not a fiveband report/.test(e.message));
  assert.ok(existsSync(join(precious, 'notes.txt')));
  const ok = spawnSync(process.execPath, ['bin/fiveband.js', 'report', known], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout, `${join(known, 'report', 'index.html')}\n`);
});

test('bootstrap intervals are seeded and percentiles follow numpy', () => {
  const values = Float64Array.from({ length: 50 }, (_, i) => (i * 37) % 11);
  const a = describeColumns({ x: values }, ['k']);
  const b = describeColumns({ x: values }, ['k']);
  assert.deepEqual(a, b);
  assert.ok(a.x!.ci95[0] < a.x!.mean && a.x!.mean < a.x!.ci95[1]);
  assert.equal(percentile([1, 2, 3, 4], 50), 2.5);
  assert.equal(percentile([1, 2, 3, 4, 5], 25), 2);
});
