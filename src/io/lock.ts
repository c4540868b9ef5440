import { link, open, readFile, rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { removeStaleTemps, tempPathFor } from './atomic.js';
import { UserError } from './errors.js';
import { processRuns } from './process.js';

/** The lock file of a folder being written (dataset, model, attributions, scores, study run). */
export const LOCK_FILE = '.fiveband.lock';

/**
 * One writer per folder: `dir/.fiveband.lock` holds the writer's pid and host. A lock of this machine whose process
 * is gone (kill -9) is taken over; a live one, or one of another host, is a one-line refusal naming it. `dir` must
 * exist. Holding the lock, it removes what killed writers left half-written (removeStaleTemps, down to
 * `tempDepth` sub-folder levels). Returns the release function.
 */
export async function lockFolder(dir: string, tempDepth = 0): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE);
  const mine = `${process.pid} ${hostname()}\n`;
  // The lock appears whole or not at all: written aside, then hard-linked into place (fails if one exists).
  const draft = tempPathFor(path);
  const handle = await open(draft, 'w');
  await handle.writeFile(mine);
  await handle.close();
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await link(draft, path);
        await removeStaleTemps(dir, tempDepth);
        return async () => {
          if ((await readFile(path, 'utf8').catch(() => '')) === mine) await rm(path, { force: true });
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const held = await readFile(path, 'utf8').catch(() => null);
      if (held === null) continue; // released meanwhile
      const [pidText, host = hostname()] = held.trim().split(/\s+/);
      const pid = Number(pidText);
      const local = host === hostname();
      if (!local || (Number.isInteger(pid) && pid > 0 && processRuns(pid))) {
        throw new UserError(`${dir} is being written by another fiveband process (pid ${pidText} on ${host}); wait for it, or use another folder${local ? '' : `, or delete ${path} if that process is gone`}`);
      }
      // A dead writer's lock: move it aside (only one taker wins the rename), and check it was the one we read.
      const aside = tempPathFor(path);
      try {
        await rename(path, aside);
      } catch {
        continue;
      }
      if ((await readFile(aside, 'utf8').catch(() => null)) !== held) await link(aside, path).catch(() => {}); // a fresh lock: put it back
      await rm(aside, { force: true });
    }
    throw new UserError(`${dir}: could not take the folder lock ${path}`);
  } finally {
    await rm(draft, { force: true });
  }
}
