// Automatic chunks keep what one costs the main thread (sending it, handing over its
// outcomes) within a budget, whatever the worker-side target would allow: the caller's
// callbacks do not count, and a later call of the task starts from what it learned.
// The main thread's clock is simulated: costs are jumps of it, so sizes are exact. It moves
// by the jumps only (and a nanosecond a reading, so that two differ): what the main thread
// really spends, a preemption on a loaded machine included, must not count (real time made
// chunks look over the budget: 1 run in 5 failed under load).
import { describe, expect, it, vi } from 'vitest';
import { doublingExecutor } from './helpers/executors.js';
import { trackRunners } from './helpers/runners.js';
import { tasks } from './helpers/tasks.js';

const clock = vi.hoisted(() => ({ offset: 0 }));
vi.mock('../src/protocol.js', async (original) => {
  const actual = await original<typeof import('../src/protocol.js')>();
  // (From the real time it started at: a progress meter reports once 100 ms have passed.)
  const start = actual.now();
  let readings = 0;
  return { ...actual, now: () => start + clock.offset + ++readings * 1e-6 };
});

const createRunner = trackRunners();

/** Records each chunk's size; sending one costs the main thread `sendMsPerItem` an item. */
function recordingExecutor(sendMsPerItem: number) {
  const sizes: number[] = [];
  const executor = doublingExecutor((request) => {
    sizes.push(request.inputs.length);
    clock.offset += sendMsPerItem * request.inputs.length;
  });
  return { executor, sizes };
}

const inputs = Array.from({ length: 20_000 }, (_, i) => i);
const doubled = inputs.map((x) => x * 2);

describe("automatic chunks within the main thread's budget", () => {
  it('caps chunks at 10 ms of the main thread, a later call of the task from the start', async () => {
    // Items of 1 µs that cost the main thread 30 µs each: 333 in 10 ms, where the
    // worker-side target alone (50 ms) would send 50,000 (here, a thread's share).
    const { executor, sizes } = recordingExecutor(0.03);
    const runner = createRunner({ executor });
    expect(await runner.all(tasks.double, inputs)).toEqual(doubled);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(333);
    expect(sizes.filter((size) => size >= 300).length).toBeGreaterThan(20);
    // The runner remembers it with the task's cost: the next call's first chunk is within
    // the budget already (a quarter of the target, 12,500 items, without it).
    sizes.length = 0;
    expect(await runner.map(tasks.double, inputs).toArray()).toEqual(doubled);
    expect(sizes[0]).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(333);
  });

  it("leaves a graph's input functions out of it, which the outcomes they follow call", async () => {
    const { executor, sizes } = recordingExecutor(0);
    const runner = createRunner({ executor });
    // Node b's input function (a second) runs as node a's outcome is handed over.
    const slowInput = () => {
      clock.offset += 1000;
      return 2;
    };
    const graph = await runner.graph({
      a: { task: tasks.double, input: 1 },
      b: { task: tasks.echo, input: slowInput, deps: ['a'] },
    });
    expect(graph).toEqual({ a: 2, b: 4 }); // (this executor doubles, whatever the task)
    // The runner remembers what double cost (from node a): a later call of it does not
    // start from a second an item, held to 16 items a chunk until that estimate wears off.
    sizes.length = 0;
    expect(await runner.all(tasks.double, inputs)).toEqual(doubled);
    expect(sizes.filter((size) => size <= 16).length).toBeLessThan(5);
  });

  it("leaves the caller's callbacks out of what a chunk costs it", async () => {
    // An onProgress that takes a second each time would otherwise make every item of the
    // chunk it ran after look as if it cost the main thread 1000 ms / its size.
    const { executor, sizes } = recordingExecutor(0);
    const runner = createRunner({ executor });
    let reports = 0;
    const onProgress = () => {
      reports++;
      clock.offset += 1000;
    };
    expect(await runner.all(tasks.double, inputs, { onProgress })).toEqual(doubled);
    expect(reports).toBeGreaterThan(5);
    expect(Math.max(...sizes)).toBeGreaterThanOrEqual(2048);
  });
});
