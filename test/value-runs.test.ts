// Arrays are read a run of inputs at a time, and a chunk whose first attempts all succeeded
// hands its values over a run at a time, for calls that want only values. What they give
// must be what item-by-item handling gives: every value at its index, the same totals.
import { describe, expect, it } from 'vitest';
import type { CallStats, Executor, TaskRequest, TaskResponse } from '../src/index.js';
import { now } from '../src/protocol.js';
import { executors } from './helpers/executors.js';
import { trackRunners } from './helpers/runners.js';
import { tasks } from './helpers/tasks.js';

const createRunner = trackRunners();

describe.each(executors)('values handed over by runs on $name', ({ options }) => {
  // Runs are read 1024 inputs at a time, so chunks of 2500 span several of them.
  const inputs = Array.from({ length: 5000 }, (_, i) => ({ i, label: `input ${i}` }));

  it('puts every value at its index, in all() and in an ordered map', async () => {
    const runner = createRunner(options);
    await expect(runner.all(tasks.echo, inputs, { chunkSize: 2500 })).resolves.toEqual(inputs);
    await expect(runner.map(tasks.echo, inputs, { chunkSize: 2500 }).toArray()).resolves.toEqual(
      inputs,
    );
    // Under a window, runs are as big as the room left in it.
    await expect(
      runner.map(tasks.echo, inputs, { chunkSize: 700, window: 1500 }).toArray(),
    ).resolves.toEqual(inputs);
  });

  it('gives each value once in an unordered map', async () => {
    const runner = createRunner(options);
    const got = (await runner
      .map(tasks.echo, inputs, { chunkSize: 2500, ordered: false })
      .toArray()) as typeof inputs;
    expect(got).toHaveLength(inputs.length);
    expect([...got].sort((a, b) => a.i - b.i)).toEqual(inputs);
  });

  it('counts every job in progress and stats', async () => {
    const runner = createRunner(options);
    const done: number[] = [];
    let stats: CallStats | undefined;
    await runner
      .map(tasks.echo, inputs, {
        chunkSize: 1000,
        onProgress: (p) => done.push(p.done),
        onStats: (s) => {
          stats = s;
        },
      })
      .toArray();
    expect(done.at(-1)).toBe(inputs.length);
    expect(stats).toMatchObject({ jobs: 5000, fulfilled: 5000, attempts: 5000 });
  });
});

/**
 * An executor that runs nothing: item k of every chunk "ran" for `k % 4` ms, which makes
 * the call's work exactly the sum of those, whichever way its outcomes are handed over.
 */
function clockwork(): Executor {
  return {
    kind: 'clockwork',
    parallelism: 2,
    async execute(request: TaskRequest): Promise<TaskResponse> {
      const count = request.inputs.length;
      const times = new Float64Array(2 * count);
      const values: unknown[] = [];
      let at = now();
      for (let k = 0; k < count; k++) {
        times[2 * k] = at;
        at += k % 4;
        times[2 * k + 1] = at;
        values.push((request.inputs[k] as number) * 2);
      }
      return { values, failures: undefined, times, thread: 1 };
    },
    async close() {},
    async destroy() {},
  };
}

describe('the totals of chunks handed over by runs', () => {
  it('are those of item-by-item handing over', async () => {
    const runner = createRunner({ executor: clockwork() });
    const inputs = Array.from({ length: 3000 }, (_, i) => i);
    // Per chunk of 700: items 0..699 cost k % 4 ms each.
    const perChunk = (size: number) => Array.from({ length: size }, (_, k) => k % 4);
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    const expected = 4 * sum(perChunk(700)) + sum(perChunk(200));
    let fast: CallStats | undefined;
    const values = await runner.all(tasks.double, inputs, {
      chunkSize: 700,
      onStats: (s) => {
        fast = s;
      },
    });
    expect(values).toEqual(inputs.map((i) => 2 * i));
    // Settle hands over an outcome per item: the path the runs must agree with.
    const report = await runner.all(tasks.double, inputs, { chunkSize: 700, policy: 'settle' });
    for (const stats of [fast!, report.stats]) {
      expect(stats).toMatchObject({ jobs: 3000, fulfilled: 3000, attempts: 3000 });
      expect(stats.workMs).toBeCloseTo(expected, 6);
      expect(stats.queueWaitMs).toBeGreaterThanOrEqual(0);
    }
  });
});
