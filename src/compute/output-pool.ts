/**
 * Freed kernel outputs kept for reuse, by length, up to a byte limit. When a freed array does not fit, the arrays of
 * the lengths freed longest ago go first: a long-lived thread that moves from one model to another (a study worker
 * explaining VGG16 at 224, then ResNet34) would otherwise keep the first model's sizes for good, and every output of
 * the next come from fresh memory (ResNet34 at 224 ran IntegratedGradients 1.7× slower after VGG16 than alone).
 */
export class OutputPool {
  /** Free arrays by length; the Map's order is the order the lengths were last freed (least recent first). */
  private readonly free = new Map<number, Float32Array[]>();
  private bytes = 0;

  constructor(readonly limitBytes: number) {}

  /** Bytes held now. */
  get heldBytes(): number {
    return this.bytes;
  }

  /** A freed array of `length` floats, or undefined. */
  take(length: number): Float32Array | undefined {
    const reused = this.free.get(length)?.pop();
    if (reused !== undefined) this.bytes -= reused.byteLength;
    return reused;
  }

  /** Keeps `values` for a later `take`, making room by dropping the least recently freed lengths' arrays. */
  give(values: Float32Array): void {
    if (values.byteLength > this.limitBytes) return;
    const length = values.length;
    const list = this.free.get(length) ?? [];
    this.free.delete(length);
    this.free.set(length, list); // now the most recent
    for (const [other, arrays] of this.free) {
      if (this.bytes + values.byteLength <= this.limitBytes || other === length) break;
      while (arrays.length > 0 && this.bytes + values.byteLength > this.limitBytes) this.bytes -= arrays.pop()!.byteLength;
      if (arrays.length === 0) this.free.delete(other);
    }
    // Only this length's own arrays are left to drop: the oldest of them go.
    while (this.bytes + values.byteLength > this.limitBytes) this.bytes -= list.shift()!.byteLength;
    list.push(values);
    this.bytes += values.byteLength;
  }
}
