import type { Command } from 'commander';
import { parseCount, parsePositive } from './parse.js';

const QUEUE_HELP = 'the queue: redis://host:port (one Redis for the whole run; README, "Running on many machines")';

export function register(program: Command): void {
  program
    .command('worker')
    .description('run study tasks from a queue (started with `fiveband study --queue`) until stopped with Ctrl-C or SIGTERM; any machine that sees the run folder at the same path')
    .requiredOption('--queue <url>', QUEUE_HELP)
    .option('--concurrency <n>', 'tasks run at once, each on its own thread', parseCount('--concurrency', 1), 1)
    .option('--lease <seconds>', 'a task whose worker stops renewing its lease this long goes back to the queue', parsePositive('--lease'), 30)
    .action(async (opts: { queue: string; concurrency: number; lease: number }) => {
      const { runQueueWorker } = await import('../study/index.js');
      let stopNow!: () => void;
      const stop = new Promise<void>((r) => (stopNow = r));
      let stopping = false;
      const onSignal = (signal: NodeJS.Signals) => {
        if (stopping) process.exit(signal === 'SIGINT' ? 130 : 143); // a second signal does not wait for running tasks
        stopping = true;
        process.stdout.write(`worker: ${signal}: finishing the running tasks (again to stop now)\n`);
        stopNow();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const result = await runQueueWorker({
        queue: opts.queue, concurrency: opts.concurrency, lease: opts.lease, stop,
        onEvent: (line) => process.stdout.write(`worker: ${line}\n`),
      });
      process.stdout.write(`worker: stopped; ${result.ran} tasks done, ${result.failed} attempts failed\n`);
    });

  const queue = program.command('queue').description('look at or steer the study queue: status, retry, cancel');
  queue
    .command('status')
    .description('jobs by state, whether the queue is cancelled, and failed tasks with their error line')
    .requiredOption('--queue <url>', QUEUE_HELP)
    .option('--json', 'print it as JSON')
    .action(async (opts: { queue: string; json?: boolean }) => {
      const { queueStatus } = await import('../study/index.js');
      const status = await queueStatus(opts.queue);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
        return;
      }
      const counts = Object.entries(status.counts).map(([state, n]) => `${state} ${n}`).join(', ');
      const lines = [`queue ${status.paused ? 'cancelled (paused)' : 'running'}: ${counts}`];
      for (const f of status.failed) lines.push(`failed ${f.task} (${f.attempts} attempts, ${f.run}): ${f.error}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
  queue
    .command('retry')
    .description('put failed tasks back on the queue (and let a cancelled queue run again)')
    .requiredOption('--queue <url>', QUEUE_HELP)
    .action(async (opts: { queue: string }) => {
      const { queueRetry } = await import('../study/index.js');
      const n = await queueRetry(opts.queue);
      process.stdout.write(`queue: ${n} failed tasks back on the queue\n`);
    });
  queue
    .command('cancel')
    .description('stop the queue\'s runs: no new tasks start (running ones finish), waiting ones are removed; `fiveband study --queue` starts a run again')
    .requiredOption('--queue <url>', QUEUE_HELP)
    .action(async (opts: { queue: string }) => {
      const { queueCancel } = await import('../study/index.js');
      const n = await queueCancel(opts.queue);
      process.stdout.write(`queue: cancelled; ${n} waiting tasks removed\n`);
    });
}
