import { readFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { canonicalJson, LOCK_FILE, UserError, sha256, sha256File, writeFileAtomic } from '../io/index.js';
import type { StudyTask } from './plan.js';
import type { StudyConfig } from './profiles.js';
import { outputFiles } from './tasks.js';

export const STUDY_FILE = 'study.json';

/** A finished task: when, how long, from which inputs, and the sha256 of every file it wrote. */
export interface TaskRecord {
  kind: string;
  wallSeconds: number;
  finishedAt: string;
  /** Digest of the dependencies' records: a task whose inputs changed is run again. */
  inputs: string;
  outputs: Record<string, string>;
  /** Runs it took when more than one (killed attempts resume; `wallSeconds` adds up all of them). */
  attempts?: number;
  /** The queue worker that ran it (`host:pid`); absent when the local scheduler did. */
  worker?: string;
}

/** A task started but not finished: the time its attempts ran (updated while one runs) and how many there were. */
export interface UnfinishedTask {
  seconds: number;
  attempts: number;
}

/** `<run>/study.json`: the run manifest. */
export interface StudyManifest {
  format: 'fiveband-study-run/1';
  config: StudyConfig;
  version: string;
  machine: { cores: number; cpu: string };
  startedAt: string;
  /**
   * Every invocation that worked on the run: its worker threads (0 for a queue run, whose workers are recorded per
   * task), the queue it ran on, and the config fields an `--extend` changed.
   */
  sessions: Array<{ startedAt: string; workers: number; extended?: string[]; queue?: string }>;
  tasks: Record<string, TaskRecord>;
  /** Tasks started and not finished (killed, failed, or running now), so a resumed task's time counts every attempt. */
  unfinished?: Record<string, UnfinishedTask>;
}

export async function packageVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Fields of two configs that differ (deep comparison, key order ignored). */
export function configDifferences(a: StudyConfig, b: StudyConfig): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])] as Array<keyof StudyConfig>;
  return keys.filter((k) => canonicalJson(a[k]) !== canonicalJson(b[k]));
}

/**
 * Config fields that only add analysis on the same models: a finished run may take new methods and other
 * check settings (`--extend`), keeping its data, models and every task whose inputs are unchanged.
 */
export const EXTENDABLE_FIELDS: ReadonlyArray<keyof StudyConfig> = ['methods', 'sanity', 'conditioning'];

/**
 * The run's manifest: the stored one when its config equals `config` (a resumed run) or, with `extend`,
 * differs only in EXTENDABLE_FIELDS without dropping a method (then it takes `config`); a new one when the
 * folder holds no study; a one-line refusal when it holds another config or unrelated files.
 */
export async function openManifest(runDir: string, config: StudyConfig, entries: string[], extend = false): Promise<{ manifest: StudyManifest; extended: string[] }> {
  let text: string | null = null;
  try {
    text = await readFile(join(runDir, STUDY_FILE), 'utf8');
  } catch {
    const unrelated = entries.filter((e) => e !== LOCK_FILE);
    if (unrelated.length > 0) throw new UserError(`${runDir} is not empty and holds no ${STUDY_FILE}; choose an empty or new --out`);
  }
  if (text !== null) {
    let stored: StudyManifest;
    try {
      stored = JSON.parse(text) as StudyManifest;
    } catch {
      throw new UserError(`${join(runDir, STUDY_FILE)}: not valid JSON; delete the folder to start over`);
    }
    if (stored.format !== 'fiveband-study-run/1' || typeof stored.config !== 'object' || stored.config === null || typeof stored.tasks !== 'object') {
      throw new UserError(`${join(runDir, STUDY_FILE)}: not a fiveband study manifest`);
    }
    const differing = configDifferences(stored.config, config);
    if (differing.length === 0) return { manifest: stored, extended: [] };
    const fixed = differing.filter((k) => !(EXTENDABLE_FIELDS as string[]).includes(k));
    if (fixed.length > 0 || !extend) {
      const hint = fixed.length === 0 ? '; --extend adds them to the run, keeping its models' : '';
      throw new UserError(`${runDir} holds a study with a different ${differing.join(', ')}; use another --out or the same settings${hint}`);
    }
    const dropped = stored.config.methods.filter((m) => !config.methods.includes(m));
    if (dropped.length > 0) throw new UserError(`--extend only adds methods; ${runDir} also explains ${dropped.join(', ')}`);
    return { manifest: { ...stored, config }, extended: differing };
  }
  return {
    manifest: {
      format: 'fiveband-study-run/1', config, version: await packageVersion(),
      machine: { cores: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown' },
      startedAt: new Date().toISOString(), sessions: [], tasks: {},
    },
    extended: [],
  };
}

export async function saveManifest(runDir: string, manifest: StudyManifest): Promise<void> {
  await writeFileAtomic(join(runDir, STUDY_FILE), `${JSON.stringify(manifest, null, 1)}\n`);
}

/** Digest of the dependencies' outputs and the task's own settings: the identity of a task's inputs. */
export function inputsDigest(task: StudyTask, records: Record<string, TaskRecord>): string {
  const deps = task.deps.map((d) => [d, records[d]?.outputs ?? null]);
  return sha256(JSON.stringify(task.settings === undefined ? deps : [deps, canonicalJson(task.settings)]));
}

/** The files a task's declared outputs hold now, relative to the run folder (each output's sorted). */
export async function listOutputs(runDir: string, task: StudyTask): Promise<string[]> {
  return (await Promise.all(task.outputs.map((o) => outputFiles(runDir, o)))).flat();
}

/** Whether a recorded task's inputs are unchanged and every output it wrote is on disk with its checksum. */
export async function verified(runDir: string, task: StudyTask, manifest: StudyManifest): Promise<boolean> {
  const record = manifest.tasks[task.id];
  if (!record || record.inputs !== inputsDigest(task, manifest.tasks)) return false;
  const listed = await listOutputs(runDir, task);
  const recorded = Object.keys(record.outputs).sort();
  if (listed.length !== recorded.length || listed.some((f, i) => f !== recorded[i])) return false;
  for (const [file, expected] of Object.entries(record.outputs)) {
    if ((await sha256File(join(runDir, file)).catch(() => null)) !== expected) return false;
  }
  return true;
}

/**
 * The tasks whose records verify, in plan order (so dependencies are judged first); the records of the others are
 * dropped from the manifest, and the kept ones leave its `unfinished` list. Both engines start a run with this.
 */
export async function keepVerified(runDir: string, tasks: readonly StudyTask[], manifest: StudyManifest): Promise<StudyTask[]> {
  const kept = new Set<string>();
  for (const task of tasks) {
    if (task.deps.every((d) => kept.has(d)) && (await verified(runDir, task, manifest))) {
      kept.add(task.id);
      delete manifest.unfinished?.[task.id];
    } else {
      delete manifest.tasks[task.id];
    }
  }
  return tasks.filter((t) => kept.has(t.id));
}

/** The sha256 of every file a task's declared outputs hold now, by path relative to the run folder. */
export async function hashOutputs(runDir: string, task: StudyTask): Promise<Record<string, string>> {
  const outputs: Record<string, string> = {};
  for (const file of await listOutputs(runDir, task)) outputs[file] = await sha256File(join(runDir, file));
  return outputs;
}
