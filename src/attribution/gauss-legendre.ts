/**
 * Captum's "gausslegendre" integration points on [0, 1]: numpy's leggauss(n) nodes x_i and weights w_i on
 * [−1, 1] (ascending x), mapped as alpha_i = (1 + x_i) / 2 and step_i = w_i / 2. The nodes are the roots of
 * the Legendre polynomial P_n (Newton's method from the Chebyshev-like first guesses), the weights
 * 2 / ((1 − x²) P_n'(x)²); both agree with numpy to ~1e-15.
 */
export function gaussLegendre01(n: number): { alphas: number[]; steps: number[] } {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`number of steps must be a positive integer, got ${n}`);
  const nodes: number[] = [];
  const weights: number[] = [];
  for (let i = 1; i <= n; i++) {
    let x = Math.cos((Math.PI * (i - 0.25)) / (n + 0.5));
    let derivative = 0;
    for (let iteration = 0; iteration < 100; iteration++) {
      const [p, dp] = legendre(n, x);
      derivative = dp;
      const dx = p / dp;
      x -= dx;
      if (Math.abs(dx) < 1e-16) break;
    }
    derivative = legendre(n, x)[1];
    nodes.push(x);
    weights.push(2 / ((1 - x * x) * derivative * derivative));
  }
  // Ascending nodes, as numpy returns them; the rule is symmetric, so weights follow their nodes.
  const order = nodes.map((_, i) => i).sort((a, b) => nodes[a]! - nodes[b]!);
  return {
    alphas: order.map((i) => 0.5 * (1 + nodes[i]!)),
    steps: order.map((i) => 0.5 * weights[i]!),
  };
}

/** P_n(x) and P_n'(x) by the three-term recurrence. */
function legendre(n: number, x: number): [number, number] {
  let previous = 1;
  let current = x;
  if (n === 0) return [1, 0];
  for (let k = 2; k <= n; k++) {
    const next = ((2 * k - 1) * x * current - (k - 1) * previous) / k;
    previous = current;
    current = next;
  }
  return [current, (n * (x * current - previous)) / (x * x - 1)];
}
