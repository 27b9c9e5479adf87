// An executor given in RunnerOptions may be anyone's: an answer the scheduler cannot
// settle (too few values or times, a failure of an item the chunk does not have) fails
// the chunk's items, naming what was wrong, instead of being lost in the scheduler with
// the call waiting for them forever.
import { describe, expect, it } from 'vitest';
import type { Executor, TaskRequest, TaskResponse } from '../src/index.js';
import { serializeError } from '../src/protocol.js';
import { trackRunners } from './helpers/runners.js';
import { tasks } from './helpers/tasks.js';

const createRunner = trackRunners();

/** An executor that answers every chunk with what `answer` makes of it. */
function answering(answer: (request: TaskRequest) => unknown): Executor {
  return {
    kind: 'answering',
    parallelism: 2,
    execute: async (request) => answer(request) as TaskResponse,
    close: async () => {},
    destroy: async () => {},
  };
}

const sound = (request: TaskRequest): TaskResponse => ({
  values: request.inputs.map((x) => 2 * (x as number)),
  failures: undefined,
  times: new Float64Array(2 * request.inputs.length),
  thread: 1,
});

describe('answers of an executor', () => {
  it('settle a sound answer', async () => {
    const runner = createRunner({ executor: answering(sound) });
    await expect(runner.all(tasks.double, [1, 2, 3], { chunkSize: 3 })).resolves.toEqual([2, 4, 6]);
  });

  it.each([
    ['no response object', () => undefined],
    ['values for fewer than 3 items', (r: TaskRequest) => ({ ...sound(r), values: [2] })],
    [
      'times for fewer than 3 items',
      (r: TaskRequest) => ({ ...sound(r), times: new Float64Array(2) }),
    ],
    [
      'a failure of item 7, for 3 items',
      (r: TaskRequest) => ({
        ...sound(r),
        failures: [{ index: 7, kind: 'task', error: serializeError(new Error('no')) }],
      }),
    ],
    ['ran is 9, for a chunk of 3', (r: TaskRequest) => ({ ...sound(r), ran: 9 })],
  ])('fail the chunk for an answer with %s', async (what, answer) => {
    const runner = createRunner({ executor: answering(answer) });
    const report = await runner.all(tasks.double, [1, 2, 3], { chunkSize: 3, policy: 'settle' });
    expect(report.counts).toMatchObject({ total: 3, rejected: 3 });
    for (const outcome of report.results) {
      expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'ERR_TASK_FAILED' } });
      expect((outcome as { reason: Error }).reason.message).toContain(
        `the executor answered the chunk with ${what}`,
      );
    }
  });
});
