import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';

import { createProgress } from '../../src/cli/progress.js';

/** A non-TTY stream that keeps what is written. */
function plainStream(): { stream: NodeJS.WriteStream; lines: string[] } {
  const lines: string[] = [];
  const stream = { isTTY: false, write: (text: string) => lines.push(text.trimEnd()) } as unknown as NodeJS.WriteStream;
  return { stream, lines };
}

describe('progress (plain lines)', () => {
  it('a resumed job estimates from the work done since it started, not from the work it kept', () => {
    mock.timers.enable({ apis: ['Date'], now: 0 });
    try {
      const { stream, lines } = plainStream();
      const progress = createProgress('job', stream, 5);
      progress.update(50, 100); // kept from an earlier run
      mock.timers.tick(10_000);
      progress.update(60, 100, 'a, b');
      mock.timers.tick(1_000);
      progress.update(61, 100); // within 5 s of the last line: not printed
      mock.timers.tick(1_000);
      progress.update(100, 100); // the last one always is
      assert.deepEqual(lines, ['job: 50/100', 'job: 60/100 eta 40s a, b', 'job: 100/100 eta 0s']);
    } finally {
      mock.timers.reset();
    }
  });
});
