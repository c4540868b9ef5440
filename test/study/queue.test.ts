import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { planStudy, STUDY_FILE, type StudyManifest } from '../../src/study/index.js';
import { filesUnder, hashesOf } from '../helpers/files.js';
import { freePort, tinyQueueStudy } from '../helpers/queue.js';
import { BIN, fiveband } from '../helpers/cli.js';

const redisServer = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
// CI installs redis-server and sets FIVEBAND_REDIS=required: there a missing server fails instead of skipping.
const needsRedis: { skip?: string } = redisServer || process.env.FIVEBAND_REDIS === 'required' ? {} : { skip: 'redis-server not installed (apt-get install redis-server)' };

/** Every process this file started: `after` kills those still running, so a failed test cannot leave the file hanging. */
const started = new Set<Proc>();

/** A process with its output collected and a way to wait for a line. */
class Proc {
  text = '';
  readonly exited: Promise<number | null>;
  constructor(readonly child: ChildProcess) {
    started.add(this);
    child.stdout?.on('data', (d: Buffer) => (this.text += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.text += d.toString()));
    this.exited = new Promise((r) => child.on('exit', (code) => r(code)));
  }
  async waitFor(pattern: RegExp, ms = 60_000): Promise<void> {
    const t0 = Date.now();
    while (!pattern.test(this.text)) {
      assert.ok(Date.now() - t0 < ms, `no ${pattern} in:\n${this.text}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** The first of `procs` to print `pattern` (one poll for all: a losing wait must not linger). */
async function firstToPrint(procs: Proc[], pattern: RegExp, ms = 60_000): Promise<Proc> {
  const t0 = Date.now();
  for (;;) {
    const found = procs.find((p) => pattern.test(p.text));
    if (found) return found;
    assert.ok(Date.now() - t0 < ms, `no ${pattern} from any of ${procs.length} processes:\n${procs.map((p) => p.text).join('\n---\n')}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const cli = (...args: string[]) => new Proc(spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));

let root: string;
let port: number;
let redis: Proc | null = null;
const url = () => `redis://127.0.0.1:${port}`;
/** Redis with an append-only file, so that a restart keeps the queue (as a production Redis should). */
async function startRedis(): Promise<void> {
  redis = new Proc(spawn(redisServer || 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', root], { stdio: ['ignore', 'pipe', 'pipe'] }));
  await redis.waitFor(/Ready to accept connections/, 10_000);
}
async function stopRedis(): Promise<void> {
  redis?.child.kill('SIGTERM');
  await redis?.exited;
  redis = null;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fiveband-queue-'));
  port = await freePort();
});
after(async () => {
  for (const p of started) {
    if (p !== redis && p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill('SIGKILL');
      await p.exited;
    }
  }
  await stopRedis();
  await rm(root, { recursive: true, force: true });
});

describe('the study on a queue (BullMQ on a Redis started here)', needsRedis, () => {
  it('three workers, one killed mid-task, Redis restarted mid-run, a second coordinator taking over from a killed first: the local run\'s bytes', async () => {
    const configFile = join(root, 'tiny.json');
    await writeFile(configFile, JSON.stringify(tinyQueueStudy()));
    // The local scheduler's run, beside the queued one (it fills the queue run's waits for leases and Redis).
    const local = cli('study', '--config', configFile, '--out', join(root, 'local'), '--workers', '2');

    await startRedis();
    const run = join(root, 'queued');
    const workers = [0, 1, 2].map(() => cli('worker', '--queue', url(), '--lease', '2'));
    const first = cli('study', '--config', configFile, '--out', run, '--queue', url());
    // The worker that starts training first is killed in the middle of it (at once: a warm worker trains this tiny
    // model in a few tenths of a second); its task goes back to the queue.
    const victim = await firstToPrint(workers, /start train\/alexnet\/base/);
    victim.child.kill('SIGKILL');
    const second = cli('study', '--config', configFile, '--out', run, '--queue', url());
    await second.waitFor(/being run by another `study --queue`; following its progress/);
    // Redis goes away for a second while the branch trains (the base's retry finished) and comes back; the first
    // coordinator is killed meanwhile, and the second, which followed it, takes the run over.
    await firstToPrint(workers.filter((w) => w !== victim), /done train\/alexnet\/base/);
    first.child.kill('SIGKILL');
    await stopRedis();
    await new Promise((r) => setTimeout(r, 1000));
    await startRedis();

    assert.equal(await first.exited, null, 'the first coordinator was killed');
    assert.equal(await second.exited, 0, second.text);
    const summary = /study quick in .* \(backend wasm, queue redis:\/\/127\.0\.0\.1:\d+\/?, \d workers\): (\d+) tasks run, (\d+) verified and kept/.exec(second.text);
    assert.ok(summary, second.text);
    assert.equal(Number(summary[1]) + Number(summary[2]), 10, 'every task recorded once, by one of the two');

    assert.equal(await local.exited, 0, local.text);
    const deterministic = (f: string) => /\.(csv|safetensors)$/.test(f) || f.startsWith('eval/') || f === 'report/data.json' || /scores\/.*summary\.json$/.test(f);
    const expected = await hashesOf(join(root, 'local'), deterministic);
    assert.ok(Object.keys(expected).length > 10, `${Object.keys(expected).length} files`);
    assert.deepEqual(await hashesOf(run, deterministic), expected);
    assert.deepEqual((await filesUnder(run)).filter((f) => /\.tmp-|\.fiveband\.lock/.test(f)), [], 'no temp file or lock outlives the kill');
    const manifest = JSON.parse(await readFile(join(run, STUDY_FILE), 'utf8')) as StudyManifest;
    assert.deepEqual(Object.keys(manifest.tasks).sort(), planStudy(tinyQueueStudy()).map((t) => t.id).sort());
    const victimName = `:${victim.child.pid}`;
    assert.ok(!manifest.tasks['train/alexnet/base']!.worker!.endsWith(victimName), 'the killed worker\'s task was finished by another');
    assert.ok(Object.values(manifest.tasks).every((t) => typeof t.worker === 'string'));
    assert.equal(manifest.sessions.filter((x) => x.queue !== undefined).length, 2, 'the first coordinator\'s session and the one that took over');
    const report = await readFile(join(run, 'report/index.html'), 'utf8');
    assert.match(report, /ran by<\/dt><dd>[23] queue workers/);
    assert.match(report, /Wall time of each task \(9\)/);

    // One job per task: the attached coordinator and the restart added none twice.
    const status = fiveband('queue', 'status', '--queue', url(), '--json');
    assert.equal(status.code, 0, status.stderr);
    const counts = (JSON.parse(status.stdout) as { counts: Record<string, number> }).counts;
    assert.equal(counts.completed, 10, status.stdout);
    assert.equal(counts.failed, 0);

    // A task past --task-timeout is stopped and retried with backoff; after the last attempt the run stops with its error line.
    const late = fiveband('study', '--config', configFile, '--out', join(root, 'late'), '--queue', url(), '--task-timeout', '0.001');
    assert.equal(late.code, 1, late.stderr);
    assert.match(late.stderr.trimEnd().split('\n').at(-1)!, /^fiveband: generate failed after 3 attempts: generate: stopped after the task timeout of 0\.001 s; fix the cause, then `fiveband queue retry --queue redis:\/\/127\.0\.0\.1:\d+\/?` and run this command again$/);
    assert.match(fiveband('queue', 'status', '--queue', url()).stdout, /^failed generate \(3 attempts, .*late\): generate: stopped after the task timeout of 0\.001 s$/m);

    // Cancel stops the queue; a study on it runs again (here: everything verifies, nothing is added).
    const cancel = fiveband('queue', 'cancel', '--queue', url());
    assert.match(cancel.stdout, /^queue: cancelled; 0 waiting tasks removed\n$/);
    assert.match(fiveband('queue', 'status', '--queue', url()).stdout, /^queue cancelled \(paused\): .*completed 10, failed 1/);
    // A file a dead worker left half-written deep in the run goes when a coordinator starts with no task running.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    const stale = join(run, 'explain/alexnet/branch-1/attributions/Saliency', `shard-0000.safetensors.tmp-${dead}-0123abcd`);
    await writeFile(stale, 'half');
    const again = fiveband('study', '--config', configFile, '--out', run, '--queue', url());
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /: 0 tasks run, 10 verified and kept/);
    assert.ok(!existsSync(stale), 'the stale temp file is removed');
    assert.match(fiveband('queue', 'status', '--queue', url()).stdout, /^queue running/);
    assert.match(fiveband('queue', 'retry', '--queue', url()).stdout, /^queue: 1 failed tasks back on the queue\n$/);

    for (const w of workers) w.child.kill('SIGTERM');
    for (const w of workers.filter((x) => x !== victim)) {
      assert.equal(await w.exited, 0, w.text);
      assert.match(w.text, /worker: stopped; \d+ tasks done/);
    }
  });

  it('bad queue input is one line and exit 2', () => {
    const cases: Array<[string[], RegExp]> = [
      [['worker', '--queue', 'http://localhost:6379'], /^fiveband: --queue must be a redis:\/\/host:port URL, got "http:\/\/localhost:6379"\n$/],
      [['queue', 'status', '--queue', `redis://127.0.0.1:${port + 1}`], /^fiveband: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/? \(connect ECONNREFUSED .*\)\n$/],
      [['study', '--profile', 'quick', '--out', join(root, 'x'), '--queue', url(), '--workers', '2'], /^fiveband: --workers is the local scheduler's; with --queue, start `fiveband worker --queue …` processes instead\n$/],
      [['study', '--profile', 'quick', '--out', join(root, 'x'), '--task-timeout', '5'], /^fiveband: --task-timeout applies to a run on a queue \(--queue\)\n$/],
    ];
    for (const [args, expected] of cases) {
      const r = fiveband(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, expected);
    }
  });
});
