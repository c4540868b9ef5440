import { Command, InvalidArgumentError } from 'commander';
import { UserError } from '../io/index.js';
import type { ArchDescription } from '../nn/index.js';
import { ARCHS, type Arch } from '../nn/names.js';

/** The reference's input size per architecture (spec §2.1, §4.1). */
const REFERENCE_SIZE: Record<Arch, number> = { alexnet: 224, vgg16: 224, resnet34: 512, spa: 512, 'alexnet-depth': 224 };

function positiveInteger(what: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`${what} must be a positive integer`);
    return Number(value);
  };
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!(value.trim() !== '' && Number.isFinite(n) && n > 0)) throw new InvalidArgumentError('width must be a positive number');
  return n;
}

function nonNegativeInteger(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('depth must be a non-negative integer');
  return Number(value);
}

const count = (n: number) => n.toLocaleString('en-US');
const shape = (s: readonly number[]) => `[${s.join(', ')}]`;

/** A torchinfo-like table: module path, type, output shape (C, H, W) and trainable parameters per layer. */
export function formatArchTable(d: ArchDescription): string {
  const { spec } = d;
  const rows = d.layers.map((l) => [l.name, l.type, shape(l.outputShape), l.params ? count(l.params) : '-']);
  const header = ['Layer (PyTorch module)', 'Type', 'Output shape', 'Params'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const rule = '-'.repeat(widths.reduce((a, b) => a + b + 2, -2));
  const title = `${spec.arch}: input [3, ${spec.inputSize}, ${spec.inputSize}], ${spec.numClasses} classes, width ${spec.width}` +
    (spec.arch === 'alexnet-depth' ? `, depth ${spec.depth}` : '') + `, first conv ${d.firstConv}`;
  return [
    title, rule, line(header), rule, ...rows.map(line), rule,
    `Logits: ${shape(d.logitsShape)}${d.heatmapShape ? `; heatmap logits: ${shape(d.heatmapShape)} (cropped to the input)` : ''}`,
    `Trainable params: ${count(d.trainableCount)}`,
    `BatchNorm buffers (running mean, var, batches tracked): ${count(d.bufferCount)}`,
  ].join('\n');
}

export function register(program: Command): void {
  program
    .command('models')
    .description('print each layer\'s output shape and parameter count (like torchinfo), for one architecture or all')
    .option('--arch <name>', `architecture: ${ARCHS.join(', ')} (default: all)`)
    .option('--size <N>', 'input size N (default: the reference size, 224 or 512)', positiveInteger('size'))
    .option('--width <w>', 'channel width multiplier (1 = the reference)', positiveNumber, 1)
    .option('--classes <c>', 'number of classes', positiveInteger('classes'), 10)
    .option('--depth <k>', 'alexnet-depth: number of extra conv blocks (default 2, as the reference)', nonNegativeInteger)
    .action(async (opts: { arch?: string; size?: number; width: number; classes: number; depth?: number }) => {
      const { DEFAULT_ALEXNET_DEPTH, describeArch, validateSpec } = await import('../nn/index.js');
      const archs = opts.arch === undefined ? ARCHS : [opts.arch as Arch];
      if (opts.depth !== undefined && !archs.includes('alexnet-depth')) throw new UserError('--depth applies to alexnet-depth only');
      const tables = archs.map((arch) => {
        const spec = validateSpec({
          arch, inputSize: opts.size ?? REFERENCE_SIZE[arch] ?? 0, numClasses: opts.classes, width: opts.width,
          ...(arch === 'alexnet-depth' ? { depth: opts.depth ?? DEFAULT_ALEXNET_DEPTH } : {}),
        }, `--arch ${arch}`);
        return formatArchTable(describeArch(spec));
      });
      process.stdout.write(`${tables.join('\n\n')}\n`);
    });
}
