import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import { cannotCreateFolder, cannotRead, cannotWrite } from './errors.js';
import { processRuns } from './process.js';
import { dirname, join } from 'node:path';

/** The temporary name used while `path` is being written; never mistaken for a finished file. */
export function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * Creates `path` and its missing parents, like `mkdir -p`. Not Node's recursive mkdir: that one loops forever
 * where every level answers ENOENT (under /proc). Failures (ENOTDIR, EACCES, ENOENT, …) are one-line UserErrors.
 */
export async function makeFolder(path: string): Promise<void> {
  try {
    await createFolders(path);
  } catch (err) {
    throw cannotCreateFolder(path, err);
  }
}

async function createFolders(path: string): Promise<void> {
  const missing: string[] = [];
  // The path as given, not resolved: the system walks "out/../x" through out, so out must be made too (as mkdir -p does).
  for (let p = path; ; p = dirname(p)) {
    try {
      if ((await stat(p)).isDirectory()) break;
      throw Object.assign(new Error(`ENOTDIR: not a folder, mkdir '${path}'`), { code: 'ENOTDIR', path: p });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      missing.push(p);
      if (dirname(p) === p) break;
    }
  }
  for (const dir of missing.reverse()) {
    try {
      await mkdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/**
 * A file being written atomically: the bytes go to a temporary file in the same folder; `prepare` flushes it to
 * disk (where a full disk shows), `commit` prepares if needed and renames it over `path`, so a reader sees either
 * the old file, the complete new file, or nothing. `abort` (or a failed prepare or commit) removes the temporary
 * file. Failures are one-line UserErrors naming `path`. Small writes are gathered into ~1 MB writes. Several files meant to land together: prepare all, then
 * commit all.
 */
export interface AtomicFile {
  write(data: string | Uint8Array): Promise<void>;
  prepare(): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

const GATHER_BYTES = 1 << 20;

export async function openAtomicFile(path: string): Promise<AtomicFile> {
  await makeFolder(dirname(path));
  const tmp = tempPathFor(path);
  const handle = await open(tmp, 'w').catch((err: unknown) => {
    throw cannotWrite(path, err);
  });
  let pending: string[] = [];
  let pendingLength = 0;
  let state: 'open' | 'prepared' | 'closed' = 'open';
  // A write may take only part of the bytes (a disk filling up): write the rest, which then reports the error.
  const writeAll = async (bytes: Uint8Array) => {
    for (let done = 0; done < bytes.byteLength;) done += (await handle.write(bytes, done, bytes.byteLength - done)).bytesWritten;
  };
  const flush = async () => {
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    pendingLength = 0;
    await writeAll(Buffer.from(text, 'utf8'));
  };
  const abort = async () => {
    if (state !== 'closed') {
      state = 'closed';
      await handle.close().catch(() => {});
    }
    await rm(tmp, { force: true });
  };
  const prepare = async () => {
    if (state !== 'open') return;
    try {
      await flush();
      await handle.sync();
      state = 'prepared';
    } catch (err) {
      await abort();
      throw cannotWrite(path, err);
    }
  };
  return {
    async write(data) {
      try {
        if (typeof data === 'string') {
          pending.push(data);
          pendingLength += data.length;
          if (pendingLength >= GATHER_BYTES) await flush();
        } else {
          await flush();
          await writeAll(data);
        }
      } catch (err) {
        await abort();
        throw cannotWrite(path, err);
      }
    },
    prepare,
    async commit() {
      await prepare();
      try {
        state = 'closed';
        await handle.close();
        await rename(tmp, path);
      } catch (err) {
        await rm(tmp, { force: true });
        throw cannotWrite(path, err);
      }
    },
    abort,
  };
}

/** Writes `data` to `path` atomically (see openAtomicFile); on failure no temporary file is left. */
export async function writeFileAtomic(path: string, data: Uint8Array | string | readonly Uint8Array[]): Promise<void> {
  const file = await openAtomicFile(path);
  try {
    for (const part of typeof data === 'string' || data instanceof Uint8Array ? [data] : data) await file.write(part);
  } catch (err) {
    await file.abort();
    throw err;
  }
  await file.commit();
}

const TEMP_NAME = /\.tmp-(\d+)-[0-9a-f]{8}$/;

/**
 * Removes the temporary files (tempPathFor names) left in `dir`, and in its sub-folders down to `depth` levels, by
 * writers that no longer run: a kill -9 during a write leaves one behind. Files of live processes (this one
 * included) are kept. Returns the paths removed.
 */
export async function removeStaleTemps(dir: string, depth = 0): Promise<string[]> {
  const removed: string[] = [];
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return removed; // no folder yet: nothing left behind
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (depth > 0) removed.push(...(await removeStaleTemps(path, depth - 1)));
      continue;
    }
    const pid = Number(TEMP_NAME.exec(entry.name)?.[1]);
    if (!entry.isFile() || !Number.isInteger(pid) || pid === process.pid || processRuns(pid)) continue;
    await rm(path, { force: true });
    removed.push(path);
  }
  return removed;
}

/** Hex sha256 of bytes in memory. */
export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Hex sha256 of a file, streamed (large shards never sit in memory twice). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Reads a whole file the user named; failure is a one-line UserError naming it. */
export async function readUserFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw cannotRead(path, err);
  }
}
