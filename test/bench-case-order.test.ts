// The suite runs the cases whose inputs travel by transfer last: a transfer detaches
// buffers on the main thread, which would slow the sequential loop of later cases.
import { describe, expect, it } from 'vitest';
import { buildCases } from '../bench/cases.js';

describe('bench case order', () => {
  it('puts transfer cases after every other, keeping the order of the rest', () => {
    const cases = buildCases({
      workloads: ['blur', 'countPrimes', 'sortNumbers'],
      sizes: ['small'],
      threads: 2,
      quick: true,
      spinPerMs: 1000,
      itemScale: 0.01,
    });
    expect(cases.map((c) => c.id)).toEqual([
      'countPrimes/small',
      'sortNumbers/small',
      'blur/small',
    ]);
    expect(cases.at(-1)?.transfer).toBe(true);
  });
});
