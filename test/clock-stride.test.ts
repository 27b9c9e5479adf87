// For tiny items, a worker reads the clock once per group of items rather than once per
// item (a reading costs ~50 ns, 5% of a 1 µs item), when the call keeps no time of each
// item: no trace, and bare values rather than outcomes (which carry timings).
import { describe, expect, it } from 'vitest';
import type { Runner, TaskRequest } from '../src/index.js';
import { runRequest } from '../workers/task-host.js';
import { doublingExecutor } from './helpers/executors.js';
import { trackRunners } from './helpers/runners.js';
import { fixtures, tasks } from './helpers/tasks.js';

const createRunner = trackRunners();

/** Each item's duration from a response's times. */
const durations = (times: Float64Array): number[] =>
  Array.from({ length: times.length / 2 }, (_, i) => times[2 * i + 1]! - times[2 * i]!);

const request = (exported: string, inputs: unknown[], stride?: number): TaskRequest => ({
  module: fixtures.href,
  export: exported,
  inputs,
  stride,
});

/** Work that takes a few ms: much longer than an item that does nothing. */
const HEAVY = 3_000_000;

describe('a worker under a stride', () => {
  it('gives each item of a group an equal share of one reading, groups end to end', async () => {
    const inputs = [HEAVY, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const one = await runRequest(request('cpu', inputs));
    const each = durations(one.times);
    // Without a stride, the heavy item's time is its own.
    expect(each[1]!).toBeLessThan(each[0]! / 2);

    const grouped = await runRequest(request('cpu', inputs, 4));
    const shares = durations(grouped.times);
    // Groups [0..3], [4..7], [8, 9]: the heavy item's time is shared by its group only.
    // (Equal to within the ~0.25 µs that a timestamp since the epoch keeps.)
    for (const i of [1, 2, 3]) expect(shares[i]!).toBeCloseTo(shares[0]!, 2);
    expect(shares[4]!).toBeLessThan(shares[0]! / 2);
    for (const i of [5, 6, 7]) expect(shares[i]!).toBeCloseTo(shares[4]!, 2);
    expect(shares[9]!).toBeCloseTo(shares[8]!, 2);
    for (let i = 0; i + 1 < inputs.length; i++) {
      expect(grouped.times[2 * i + 1]).toBe(grouped.times[2 * i + 2]);
    }
    expect(grouped.values).toEqual(one.values);
  });

  it('ends a group at a failed item', async () => {
    const inputs = [{ n: HEAVY }, { n: 0, fail: true }, { n: 0 }, { n: 0 }];
    const response = await runRequest(request('cpuOrFail', inputs, 4));
    expect(response.failures?.map((f) => f.index)).toEqual([1]);
    const shares = durations(response.times);
    // [0, 1] then [2, 3]: the items after the failure do not share the heavy item's time.
    expect(shares[1]!).toBeCloseTo(shares[0]!, 2);
    expect(shares[2]!).toBeLessThan(shares[0]! / 2);
  });
});

/** Records the stride each request asked for (see doublingExecutor). */
function tinyItemsExecutor() {
  const strides: (number | undefined)[] = [];
  const executor = doublingExecutor((request) => strides.push(request.stride));
  return { executor, strides };
}

const inputs = Array.from({ length: 20_000 }, (_, i) => i);
const doubled = inputs.map((x) => x * 2);

describe('the stride a call asks for', () => {
  it('is one reading per ~10 µs of items, once their cost is known, for bare values', async () => {
    const { executor, strides } = tinyItemsExecutor();
    const runner = createRunner({ executor });
    expect(await runner.all(tasks.double, inputs)).toEqual(doubled);
    // The first chunk, of unknown cost, reads the clock per item.
    expect(strides[0]).toBeUndefined();
    expect(strides.slice(1)).toContain(10);
    const mapped = tinyItemsExecutor();
    const mapper = createRunner({ executor: mapped.executor });
    expect(await mapper.map(tasks.double, inputs).toArray()).toEqual(doubled);
    expect(mapped.strides.slice(1)).toContain(10);
  });

  it('is one item when a trace or outcomes keep the time of each', async () => {
    const calls: Array<(runner: Runner) => Promise<unknown>> = [
      (runner) => runner.all(tasks.double, inputs, { onTrace: () => {} }),
      (runner) => runner.all(tasks.double, inputs, { policy: 'settle' }),
      (runner) => runner.map(tasks.double, inputs, { policy: 'settle' }).toArray(),
    ];
    for (const call of calls) {
      const { executor, strides } = tinyItemsExecutor();
      await call(createRunner({ executor }));
      expect(strides.length).toBeGreaterThan(1);
      expect(strides.every((stride) => stride === undefined)).toBe(true);
    }
  });
});
