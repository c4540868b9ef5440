import { relative } from 'node:path';
import { inspect } from 'node:util';

/**
 * A short node:test reporter for `npm test` (`--test-reporter=./dist/test/reporter.js`): one dot per passing test
 * file's top-level test while running, each failure in full as it happens; at the end every skipped test by name with
 * its reason, every failure again (with the output its file wrote), then the runner's summary lines (`# tests N`,
 * `# pass N`, `# fail N`, `# skipped N`, …).
 */

interface TestEventData {
  name?: string;
  nesting?: number;
  file?: string;
  skip?: string | boolean;
  todo?: string | boolean;
  message?: string;
  details?: { error?: unknown; duration_ms?: number };
}

export interface TestEvent {
  type: string;
  data?: TestEventData;
}

const COLUMNS = 80;

/** An error as the spec reporter shows it: the test's own error when node wrapped it. */
function describeError(error: unknown): string {
  const e = error as { code?: string; failureType?: string; cause?: unknown } | undefined;
  const shown = e?.code === 'ERR_TEST_FAILURE' && e.cause !== undefined ? e.cause : error;
  return inspect(shown, { depth: 4, colors: false });
}

function indent(text: string, by: string): string {
  return text.split('\n').map((line) => (line === '' ? line : by + line)).join('\n');
}

function where(file: string | undefined): string {
  return file ? ` (${relative(process.cwd(), file)})` : '';
}

export default async function* reporter(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const skipped: string[] = [];
  const failures: string[] = [];
  const output = new Map<string, string[]>();
  const failedFiles = new Set<string>();
  const summary: string[] = [];
  let column = 0;
  const mark = (c: string) => {
    column = (column + 1) % COLUMNS;
    return column === 0 ? `${c}\n` : c;
  };
  for await (const event of source) {
    const data = event.data ?? {};
    switch (event.type) {
      case 'test:pass':
        if (data.skip !== undefined && data.skip !== false) {
          skipped.push(`- skipped: ${data.name}${where(data.file)}${typeof data.skip === 'string' ? `: ${data.skip}` : ''}`);
          if (data.nesting === 0) yield mark('s');
        } else if (data.todo !== undefined && data.todo !== false) {
          skipped.push(`- todo: ${data.name}${where(data.file)}${typeof data.todo === 'string' ? `: ${data.todo}` : ''}`);
        } else if (data.nesting === 0) {
          yield mark('.');
        }
        break;
      case 'test:fail': {
        const error = data.details?.error as { failureType?: string } | undefined;
        if (data.file) failedFiles.add(data.file);
        // A suite that failed because a test inside it failed: that test is reported itself.
        if (error?.failureType !== 'subtestsFailed') {
          const failure = `✖ ${data.name}${where(data.file)}\n${indent(describeError(data.details?.error), '    ')}`;
          failures.push(failure);
          // Shown now as well: a run that later hangs (and is killed) still says what failed.
          yield `${column === 0 ? '' : '\n'}${failure}\n`;
          column = 0;
        }
        if (data.nesting === 0) yield mark('X');
        break;
      }
      case 'test:stdout':
      case 'test:stderr':
        if (data.file && data.message !== undefined) {
          const lines = output.get(data.file) ?? [];
          lines.push(data.message);
          output.set(data.file, lines);
        }
        break;
      case 'test:diagnostic':
        if (data.nesting === 0 && data.message !== undefined) summary.push(`# ${data.message}`);
        break;
      default:
        break;
    }
  }
  if (column !== 0) yield '\n';
  if (skipped.length > 0) yield `${skipped.join('\n')}\n`;
  if (failures.length > 0) {
    yield `\nfailures:\n\n${failures.join('\n\n')}\n`;
    for (const file of failedFiles) {
      const lines = output.get(file);
      if (lines && lines.length > 0) yield `\noutput of ${relative(process.cwd(), file)}:\n${indent(lines.join('').trimEnd(), '  ')}\n`;
    }
  }
  if (summary.length > 0) yield `${summary.join('\n')}\n`;
}
