// The study on a BullMQ queue against the local scheduler, side by side on this machine, and what many machines buy.
//   npm run bench:queue                       per-task queue overhead on a tiny study (10 tasks one at a time)
//   npm run bench:queue -- --profile quick    + the quick study: local scheduler vs 1 and 2 queue workers
//   npm run bench:queue -- --estimate RUN     + the paper profile's wall time on 1, 4 and 16 machines, from RUN's
//                                               measured task times (a finished study run, e.g. the small profile)
// Starts its own redis-server (apt-get install redis-server) on a free loopback port.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, tinyQueueStudy } from '../test/helpers/queue.js';
import { hyperOf, planStudy, studyConfig, studyProfile, STUDY_FILE, type StudyConfig, type StudyManifest, type StudyTask } from '../src/study/index.js';

const { values: args } = parseArgs({ options: { profile: { type: 'string' }, estimate: { type: 'string' } } });
const BIN = resolve('bin/fiveband.js');
const scratch = resolve('.bench-tmp', 'queue');
const cores = availableParallelism();

const exited = (child: ChildProcess) => new Promise<number | null>((r) => child.on('exit', (code) => r(code)));

/** Wall seconds of one study run and the sum of its tasks' own times (from the manifest). */
async function timeStudy(configFile: string, out: string, engine: { queue: string; workers: number } | { local: number }): Promise<{ wall: number; taskSeconds: number; tasks: number }> {
  await rm(out, { recursive: true, force: true });
  const workers: ChildProcess[] = [];
  const t0 = performance.now();
  if ('queue' in engine) {
    for (let i = 0; i < engine.workers; i++) workers.push(spawn(process.execPath, [BIN, 'worker', '--queue', engine.queue], { stdio: 'ignore' }));
  }
  const study = spawnSync(process.execPath, [BIN, 'study', '--config', configFile, '--out', out,
    ...('queue' in engine ? ['--queue', engine.queue] : ['--workers', String(engine.local)])], { encoding: 'utf8' });
  const wall = (performance.now() - t0) / 1000;
  for (const w of workers) w.kill('SIGTERM');
  await Promise.all(workers.map(exited));
  if (study.status !== 0) throw new Error(`study failed: ${study.stderr}`);
  const manifest = JSON.parse(await readFile(join(out, STUDY_FILE), 'utf8')) as StudyManifest;
  const records = Object.values(manifest.tasks);
  return { wall, taskSeconds: records.reduce((s, t) => s + t.wallSeconds, 0), tasks: records.length };
}

/**
 * The paper profile's wall time on `machines` machines of `slots` task slots each: its tasks, timed from a measured
 * run (seconds per cost unit of each task kind, scaled by the models' input pixels), list-scheduled longest ready
 * task first as the scheduler and the queue's priorities do.
 */
function simulate(tasks: StudyTask[], seconds: (t: StudyTask) => number, slots: number): number {
  const finishedAt = new Map<string, number>();
  const running: Array<{ id: string; end: number }> = [];
  let now = 0;
  const pending = new Set(tasks.map((t) => t.id));
  const byId = new Map(tasks.map((t) => [t.id, t]));
  while (pending.size > 0 || running.length > 0) {
    const ready = [...pending].map((id) => byId.get(id)!).filter((t) => t.deps.every((d) => (finishedAt.get(d) ?? Infinity) <= now))
      .sort((a, b) => b.cost - a.cost);
    while (running.length < slots && ready.length > 0) {
      const task = ready.shift()!;
      pending.delete(task.id);
      running.push({ id: task.id, end: now + seconds(task) });
    }
    running.sort((a, b) => a.end - b.end);
    const next = running.shift();
    if (!next) throw new Error('tasks never became ready');
    now = next.end;
    finishedAt.set(next.id, now);
  }
  return now;
}

const hours = (s: number) => `${(s / 3600).toFixed(1)} h`;

if (spawnSync('sh', ['-c', 'command -v redis-server']).status !== 0) throw new Error('bench:queue needs redis-server (apt-get install redis-server)');
const port = await freePort();
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 500));
const queue = `redis://127.0.0.1:${port}`;
try {
  console.log(`study on a queue vs the local scheduler, ${cores} cores (wall figures are noisy on a shared machine)`);
  console.log(`load average before: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const tinyFile = join(scratch, 'tiny.json');
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  await writeFile(tinyFile, JSON.stringify(tinyQueueStudy()));
  console.log('tiny study (tasks one at a time)   tasks  wall s  task s  overhead per task ms');
  for (const [name, engine] of [['local scheduler, 1 thread', { local: 1 }], ['queue, 1 worker', { queue, workers: 1 }]] as const) {
    const r = await timeStudy(tinyFile, join(scratch, 'tiny'), engine);
    console.log(`${name.padEnd(34)} ${String(r.tasks).padStart(5)}  ${r.wall.toFixed(1).padStart(6)}  ${r.taskSeconds.toFixed(1).padStart(6)}  ${((1000 * (r.wall - r.taskSeconds)) / r.tasks).toFixed(0).padStart(20)}`);
  }

  if (args.profile) {
    const { config } = studyConfig(args.profile as 'quick', {});
    const file = join(scratch, `${args.profile}.json`);
    await writeFile(file, JSON.stringify(config));
    console.log(`\n${args.profile} study                         tasks  wall s  task s  vs local`);
    let local = 0;
    for (const [name, engine] of [[`local scheduler, ${cores} threads`, { local: cores }], ['queue, 1 worker', { queue, workers: 1 }], ['queue, 2 workers', { queue, workers: 2 }]] as const) {
      const r = await timeStudy(file, join(scratch, args.profile), engine);
      local ||= r.wall;
      console.log(`${name.padEnd(34)} ${String(r.tasks).padStart(5)}  ${r.wall.toFixed(0).padStart(6)}  ${r.taskSeconds.toFixed(0).padStart(6)}  ${(local / r.wall).toFixed(2)}×`);
    }
  }

  if (args.estimate) {
    const measured = JSON.parse(await readFile(join(args.estimate, STUDY_FILE), 'utf8')) as StudyManifest;
    const measuredTasks = new Map(planStudy(measured.config).map((t) => [t.id, t]));
    // Seconds per cost unit per kind and architecture in the measured run, per input pixel of its models.
    const perUnit = new Map<string, { seconds: number; units: number }>();
    const key = (t: StudyTask) => `${t.kind}/${t.model?.arch ?? '-'}`;
    const pixels = (config: StudyConfig, t: StudyTask) => (t.model ? hyperOf(config, t.model).inputSize : config.dataset.size) ** 2;
    for (const [id, record] of Object.entries(measured.tasks)) {
      const task = measuredTasks.get(id);
      if (!task || (record.attempts ?? 1) > 1) continue; // a resumed task's time includes its killed attempts
      const u = perUnit.get(key(task)) ?? { seconds: 0, units: 0 };
      perUnit.set(key(task), { seconds: u.seconds + record.wallSeconds / pixels(measured.config, task), units: u.units + task.cost });
    }
    const paper = studyProfile('paper', 0, measured.config.backend);
    const paperTasks = planStudy(paper);
    const missing = new Set<string>();
    const seconds = (t: StudyTask) => {
      // A random-label model is its classifier's base recipe on shuffled labels: timed as that base.
      const u = perUnit.get(key(t)) ?? (t.kind === 'train-random-labels' ? perUnit.get(`train-base/${t.model!.arch}`) : undefined) ?? perUnit.get(`${t.kind}/alexnet`);
      if (!u) {
        missing.add(key(t));
        return 0;
      }
      return (u.seconds / u.units) * t.cost * pixels(paper, t);
    };
    const serial = paperTasks.reduce((s, t) => s + seconds(t), 0);
    console.log(`\npaper profile estimate from ${args.estimate} (${measured.config.profile}, ${Object.keys(measured.tasks).length} tasks measured on ${measured.machine.cores} cores):`);
    console.log(`  ${paperTasks.length} tasks, ${hours(serial)} of task time; machines of ${cores} task slots, longest ready task first`);
    for (const machines of [1, 4, 16]) console.log(`  ${String(machines).padStart(2)} machines: ${hours(simulate(paperTasks, seconds, machines * cores))}`);
    if (missing.size > 0) console.log(`  (no measured time for ${[...missing].join(', ')}: counted as 0 s)`);
  }
} finally {
  redis.kill('SIGTERM');
  await exited(redis);
  await rm(scratch, { recursive: true, force: true });
}
