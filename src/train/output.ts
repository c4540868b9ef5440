import { writeFileAtomic } from '../io/index.js';

/** Rows of numbers (or empty cells) as CSV with a header line. */
export function toCsv(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<number | string | null>>): string {
  return [header.join(','), ...rows.map((r) => r.map((v) => (v === null ? '' : String(v))).join(','))].join('\n') + '\n';
}

export async function writeCsv(path: string, header: readonly string[], rows: ReadonlyArray<ReadonlyArray<number | string | null>>): Promise<void> {
  await writeFileAtomic(path, toCsv(header, rows));
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}
