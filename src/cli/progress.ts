import cliProgress from 'cli-progress';

import type { ProgressCallback } from '../io/index.js';

export type { ProgressCallback };

/**
 * A progress reporter for the CLI: a bar with ETA on a TTY, otherwise plain lines
 * (at most one every `plainEverySeconds`, plus the last), so logs stay readable.
 */
export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr, plainEverySeconds = 5): {
  update: ProgressCallback;
  stop: () => void;
} {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted} | {status}`, stream, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(done, total, status = '') {
        if (!started) {
          bar.start(total, done, { status });
          started = true;
        } else {
          bar.setTotal(total);
          bar.update(done, { status });
        }
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  const t0 = Date.now();
  let last = -Infinity;
  // The rate counts only work done since the first report: a resumed job starts with its kept work done.
  let first: number | null = null;
  return {
    update(done, total, status = '') {
      const now = Date.now();
      first ??= done;
      if (done < total && now - last < plainEverySeconds * 1000) return;
      last = now;
      const elapsed = (now - t0) / 1000;
      const eta = done > first ? (elapsed * (total - done)) / (done - first) : NaN;
      const etaText = Number.isFinite(eta) ? ` eta ${eta.toFixed(0)}s` : '';
      stream.write(`${label}: ${done}/${total}${etaText}${status ? ` ${status}` : ''}\n`);
    },
    stop() {},
  };
}
