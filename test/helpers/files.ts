// Folder contents for tests that check what a command left behind: the files (relative paths) and their sha256.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** Every file under `dir`, as paths relative to it, sorted; [] for a missing folder. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath ?? e.path, e.name))).sort();
}

/** sha256 of every file under `dir` that `keep` accepts, by relative path. */
export async function hashesOf(dir: string, keep: (file: string) => boolean = () => true): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const file of (await filesUnder(dir)).filter(keep)) out[file] = createHash('sha256').update(await readFile(join(dir, file))).digest('hex');
  return out;
}
