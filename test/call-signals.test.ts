// A call's stops are Stops (src/abort.ts): the scheduler and this package's executors hear them
// without making an AbortSignal (~2.5 µs each, a fair part of a call of one job), while an
// executor of the caller's own is given a real signal that aborts when the call stops.
import { afterEach, describe, expect, it } from 'vitest';
import { ExecFailure, type Executor } from '../src/index.js';
import { trackRunners } from './helpers/runners.js';
import { tasks } from './helpers/tasks.js';

const runnerFor = trackRunners();

/** Counts the AbortControllers made while `fn` runs (the code makes them from the global). */
async function controllersMadeBy(fn: () => Promise<unknown>): Promise<number> {
  const Original = globalThis.AbortController;
  let made = 0;
  globalThis.AbortController = class extends Original {
    constructor() {
      super();
      made++;
    }
  };
  try {
    await fn();
  } finally {
    globalThis.AbortController = Original;
  }
  return made;
}

afterEach(() => {
  expect(globalThis.AbortController.name).toBe('AbortController');
});

describe('stopping a call', () => {
  it.each([2, 0])(
    'makes no AbortSignal for calls that nothing stops (threads: %i)',
    async (threads) => {
      const runner = runnerFor({ threads });
      await runner.all(tasks.double, [1, 2, 3]); // threads started, module loaded
      const made = await controllersMadeBy(async () => {
        expect(await runner.run(tasks.double, 4)).toBe(8);
        expect(await runner.run(tasks.double, 5, { timeout: 60_000 })).toBe(10);
        expect(await runner.all(tasks.double, [1, 2, 3, 4, 5, 6, 7, 8, 9])).toHaveLength(9);
        expect(await runner.map(tasks.double, [1, 2, 3]).toArray()).toEqual([2, 4, 6]);
      });
      expect(made).toBe(0);
    },
  );

  it("aborts the signal of a caller's executor when the call stops", async () => {
    const signals: AbortSignal[] = [];
    const executor: Executor = {
      kind: 'held',
      parallelism: 2,
      execute: (request, { onStart, signal }) => {
        onStart?.();
        signals.push(signal);
        // The first job fails at once; the second is held until it is stopped.
        if (request.inputs[0] === 1) {
          return Promise.resolve({
            values: [undefined],
            failures: [{ index: 0, kind: 'task', error: { name: 'Error', message: 'one' } }],
            times: Float64Array.of(1000, 1001),
            thread: 1,
          });
        }
        return new Promise((_, reject) => {
          signal.addEventListener('abort', () => reject(new ExecFailure('aborted', 'stopped')));
        });
      },
      close: async () => {},
      destroy: async () => {},
    };
    const runner = runnerFor({ executor });
    // Fail-fast: the first job's failure stops the call, and with it the second job.
    await expect(runner.all(tasks.double, [2, 1], { chunkSize: 1 })).rejects.toMatchObject({
      code: 'ERR_TASK_FAILED',
    });
    expect(signals).toHaveLength(2);
    for (const signal of signals) {
      expect(signal).toBeInstanceOf(AbortSignal);
      expect(signal.aborted).toBe(true);
    }
  });
});
