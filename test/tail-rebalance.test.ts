// A chunk that runs on while a thread is free with nothing left to take is cut short: it
// ends after its current item, and the items it did not run go to the free thread. An
// input whose cost jumps where nothing measured could see it (a cheap start, a costly end)
// then does not end on one thread.
import { describe, expect, it } from 'vitest';
import {
  builtins,
  type CallTrace,
  createRunner,
  type Executor,
  type TaskRequest,
  type TaskResponse,
} from '../src/index.js';
import { tasks } from './helpers/tasks.js';

describe('a chunk running on while a thread is free', () => {
  it('is cut after its current item, and each item it did not run runs elsewhere, once', async () => {
    // Two slots. The chunk holding HOLD runs its first item, then runs on (turn after turn
    // of the event loop) until it is asked to end: without the cut, the call never ends.
    const HOLD = 900;
    const ran: number[] = [];
    let held = false;
    let cutAt: number | undefined;
    const executor: Executor = {
      kind: 'scripted',
      parallelism: 2,
      async execute(request: TaskRequest): Promise<TaskResponse> {
        const inputs = request.inputs as number[];
        let count = inputs.length;
        if (!held && inputs.includes(HOLD) && inputs.length > 1) {
          held = true;
          const cell = new Int32Array(request.stop!);
          while (Atomics.load(cell, request.cut!) === 0) {
            await new Promise((resolve) => setImmediate(resolve));
          }
          count = 1;
          cutAt = inputs[0];
        }
        ran.push(...inputs.slice(0, count));
        const at = performance.timeOrigin + performance.now();
        return {
          values: inputs.slice(0, count).map((x) => 2 * x),
          times: new Float64Array(2 * count).fill(at),
          failures: undefined,
          ran: count < inputs.length ? count : undefined,
          thread: 1,
        };
      },
      close: async () => {},
      destroy: async () => {},
    };
    await using runner = createRunner({ executor });
    // The runner learns that items cost nothing: the next call sends a share per thread.
    await runner.all(
      tasks.double,
      Array.from({ length: 1000 }, (_, i) => -i),
    );
    ran.length = 0;
    const inputs = Array.from({ length: 1000 }, (_, i) => i);
    await expect(runner.all(tasks.double, inputs)).resolves.toEqual(inputs.map((x) => 2 * x));
    expect(cutAt).toBeDefined();
    expect(cutAt).toBeLessThan(HOLD);
    expect(ran.sort((a, b) => a - b)).toEqual(inputs);
  });

  it('on threads, shares the costly end of an input whose cost jumps there', async () => {
    await using runner = createRunner({ threads: 2 });
    const cheap = { iterations: 1, seed: 0 };
    // A first call tells the runner that spin items are cheap: the next one starts with
    // chunks of that size, a thread's whole share each.
    await runner.all(
      builtins.spin,
      Array.from({ length: 2_000 }, () => cheap),
    );
    const slowFrom = 9_960;
    const inputs = Array.from({ length: 10_000 }, (_, seed) =>
      seed < slowFrom ? { iterations: 1, seed } : { iterations: 1_700_000, seed },
    );
    let trace: CallTrace | undefined;
    const outputs = await runner.all(builtins.spin, inputs, {
      onTrace: (t) => {
        trace = t;
      },
    });
    expect(outputs).toHaveLength(inputs.length);
    const threadsOfSlow = new Set(
      trace!.attempts
        .filter((a) => typeof a.job === 'number' && a.job >= slowFrom)
        .map((a) => a.thread),
    );
    expect(threadsOfSlow.size).toBe(2);
  });
});
