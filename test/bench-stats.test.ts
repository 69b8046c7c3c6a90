/** The statistics the benchmarks report their verdicts with (bench/lib/stats.ts). */
import { describe, expect, it } from "vitest";
import { medianInterval, summarize } from "../bench/lib/stats.js";

describe("medianInterval", () => {
  it("gives the textbook ranks of the 95% interval of a median (binomial order statistics)", () => {
    const ranks = (n: number) => medianInterval(Array.from({ length: n }, (_, i) => i + 1));
    // Ranks from the binomial distribution with p = ½: n = 6 → (1, 6), 20 → (6, 15), 60 → (22, 39), 100 → (40, 61).
    expect(ranks(6)).toEqual([1, 6]);
    expect(ranks(20)).toEqual([6, 15]);
    expect(ranks(60)).toEqual([22, 39]);
    expect(ranks(100)).toEqual([40, 61]);
  });

  it("has no interval at 95% below six values", () => {
    expect(medianInterval([3, 1, 2, 5, 4])).toBeUndefined();
  });

  it("sorts its input and contains the median", () => {
    const values = [0.9, 1.3, 1.02, 1.08, 0.97, 1.5, 1.01, 1.04, 0.99, 1.06];
    const interval = medianInterval(values);
    const median = summarize(values).median;
    expect(interval).toBeDefined();
    const [low, high] = interval as [number, number];
    expect(low).toBeLessThanOrEqual(median);
    expect(high).toBeGreaterThanOrEqual(median);
    // n = 10: ranks 2 and 9 of the sorted values.
    expect([low, high]).toEqual([0.97, 1.3]);
  });

  it("widens with the confidence asked for", () => {
    const values = Array.from({ length: 50 }, (_, i) => i);
    const [a, b] = medianInterval(values, 0.8) as [number, number];
    const [c, d] = medianInterval(values, 0.99) as [number, number];
    expect(c).toBeLessThan(a);
    expect(d).toBeGreaterThan(b);
  });
});
