/** Timing helpers for the benchmarks: warm-up, ≥ 5 measured runs, medians and spread. */

export interface Sample {
  /** Median of the measured runs, in the unit of `values`. */
  median: number;
  min: number;
  max: number;
  /** 99th percentile of the values (nearest rank). */
  p99: number;
  /** (max − min) / median of the runs, as a fraction. */
  spread: number;
  runs: number;
  values: number[];
}

export function summarize(values: number[]): Sample {
  const sorted = [...values].sort((a, b) => a - b);
  const pick = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
  const median =
    sorted.length % 2 === 1
      ? (sorted[(sorted.length - 1) / 2] ?? Number.NaN)
      : ((sorted[sorted.length / 2 - 1] ?? 0) + (sorted[sorted.length / 2] ?? 0)) / 2;
  const min = sorted[0] ?? Number.NaN;
  const max = sorted[sorted.length - 1] ?? Number.NaN;
  return {
    median,
    min,
    max,
    p99: pick(0.99),
    spread: median === 0 ? 0 : (max - min) / median,
    runs: values.length,
    values,
  };
}

/** Runs `fn` `warmup` times unmeasured, then `runs` times, returning each run's milliseconds. */
export async function timeRuns(
  fn: () => unknown | Promise<unknown>,
  runs = 7,
  warmup = 2,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await fn();
    out.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return out;
}

export function fmt(n: number, digits = 2): string {
  if (!Number.isFinite(n)) return "—";
  if (Math.abs(n) >= 10_000) return Math.round(n).toLocaleString("en-US");
  return n.toFixed(digits);
}

export function pct(fraction: number): string {
  return `±${(fraction * 50).toFixed(0)}%`;
}

/** A table row: label, median, min, max, spread, and the median's ratio to `base` ("1.00×" for itself). */
export function sampleRow(label: string, s: Sample, base: Sample, digits: number): string[] {
  return [
    label,
    fmt(s.median, digits),
    fmt(s.min, digits),
    fmt(s.max, digits),
    `${fmt(s.spread * 100, 0)}%`,
    base === s ? "1.00×" : `${fmt(s.median / base.median, 2)}×`,
  ];
}

/**
 * A distribution-free confidence interval for the median of `values` (default 95%): the order
 * statistics [x(k), x(n−k+1)] with k the largest rank for which P(Binomial(n, ½) < k) ≤ (1 − level)/2.
 * Makes no assumption about the shape of the noise (a shared machine's is skewed); `undefined` when
 * there are too few values for that level (fewer than 6 at 95%).
 */
export function medianInterval(values: readonly number[], level = 0.95): [number, number] | undefined {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const tail = (1 - level) / 2;
  let below = 0; // P(Binomial(n, ½) < k), for k = 0, 1, …
  let term = 0.5 ** n; // P(Binomial(n, ½) = k)
  let k = 0;
  while (below + term <= tail) {
    below += term;
    term = (term * (n - k)) / (k + 1);
    k += 1;
  }
  if (k === 0) return undefined;
  return [sorted[k - 1] as number, sorted[n - k] as number];
}
