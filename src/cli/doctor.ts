import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('doctor')
    .description('which compute backends work here (native needs libdnnl-dev at npm ci time), what auto picks, and their self-test')
    .option('--json', 'print the diagnosis as JSON (backends, what auto picks, cores)')
    .action(async (opts: { json?: boolean }) => {
      const { diagnoseBackends } = await import('../compute/index.js');
      const report = await diagnoseBackends();
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ node: process.version, ...report }, null, 2)}\n`);
        return;
      }
      const lines = [`Node ${process.version} on ${process.platform} ${process.arch}, ${report.cores} cores`];
      for (const b of report.backends) lines.push(`${b.name.padEnd(7)}${b.ready ? 'ready' : 'unavailable'}: ${b.detail}`);
      lines.push(`auto   → ${report.auto}${process.env.FIVEBAND_BACKEND ? `; FIVEBAND_BACKEND=${process.env.FIVEBAND_BACKEND} is the default of --backend` : ''}`);
      if (report.auto !== 'native') lines.push('for native speed: apt-get install -y libdnnl-dev, then npm ci (README, "Backends")');
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
