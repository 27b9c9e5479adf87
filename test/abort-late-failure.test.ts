// A failure that reaches the main thread after the call was aborted (its chunk's answer
// was already on its way) is not the call's cause: the call ends with the signal's reason,
// and a job whose retries the stop cut short ends cancelled, not failed. An executor that
// answers only when the test says so makes the order certain.
import { describe, expect, it } from 'vitest';
import type { CallStats, Executor, TaskResponse } from '../src/index.js';
import { serializeError } from '../src/protocol.js';
import { deferred } from './helpers/latches.js';
import { trackRunners } from './helpers/runners.js';
import { tasks } from './helpers/tasks.js';

const createRunner = trackRunners();

/** An executor whose chunks wait for `answer()`; it ignores aborts, as a chunk whose answer is in flight would. */
function heldExecutor() {
  const pending: Array<(response: TaskResponse) => void> = [];
  const dispatched = deferred();
  const executor: Executor = {
    kind: 'held',
    parallelism: 1,
    execute: () =>
      new Promise<TaskResponse>((resolve) => {
        pending.push(resolve);
        dispatched.resolve();
      }),
    close: async () => {},
    destroy: async () => {},
  };
  /** Answers the first chunk: its one item failed. */
  const answerWithFailure = () =>
    pending.shift()?.({
      values: [undefined],
      failures: [{ index: 0, kind: 'task', error: serializeError(new Error('attempt 1 failed')) }],
      times: new Float64Array(2),
      thread: 1,
    });
  return { executor, dispatched: dispatched.promise, answerWithFailure };
}

describe('a failure that arrives after an abort', () => {
  for (const retries of [0, 1]) {
    it(`ends a fail-fast map with the signal's reason (retries: ${retries})`, async () => {
      const held = heldExecutor();
      const runner = createRunner({ executor: held.executor });
      const controller = new AbortController();
      const reason = new Error('stopped by the caller');
      const results = runner
        .map(tasks.double, [1], { retries, signal: controller.signal })
        .toArray();
      await held.dispatched;
      controller.abort(reason);
      held.answerWithFailure();
      await expect(results).rejects.toBe(reason);
    });

    it(`ends a fail-fast all with the signal's reason (retries: ${retries})`, async () => {
      const held = heldExecutor();
      const runner = createRunner({ executor: held.executor });
      const controller = new AbortController();
      const reason = new Error('stopped by the caller');
      const results = runner.all(tasks.double, [1], { retries, signal: controller.signal });
      await held.dispatched;
      controller.abort(reason);
      held.answerWithFailure();
      await expect(results).rejects.toBe(reason);
    });
  }

  it('cancels a job whose retries the stop cut short, and fails one that had none left', async () => {
    for (const [retries, state] of [
      [1, 'cancelled'],
      [0, 'rejected'],
    ] as const) {
      const held = heldExecutor();
      const runner = createRunner({ executor: held.executor });
      const controller = new AbortController();
      let stats: CallStats | undefined;
      const report = runner.all(tasks.double, [1], {
        policy: 'settle',
        retries,
        signal: controller.signal,
        onStats: (s) => {
          stats = s;
        },
      });
      await held.dispatched;
      controller.abort(new Error('stopped by the caller'));
      held.answerWithFailure();
      await expect(report).rejects.toThrow('stopped by the caller');
      expect(stats).toMatchObject({
        jobs: 1,
        cancelled: state === 'cancelled' ? 1 : 0,
        rejected: state === 'rejected' ? 1 : 0,
      });
    }
  });
});
