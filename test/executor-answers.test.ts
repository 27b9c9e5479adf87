// An executor given in RunnerOptions may be anyone's: an answer the scheduler cannot
// settle (too few values or times, a failure of an item the chunk does not have) fails
// the chunk's items, naming what was wrong, instead of being lost in the scheduler with
// the call waiting for them forever.
import { describe, expect, it } from 'vitest';
import { ExecFailure, type Executor, type TaskRequest, type TaskResponse } from '../src/index.js';
import { serializeError } from '../src/protocol.js';
import { trackRunners } from './helpers/runners.js';
import { tasks } from './helpers/tasks.js';
import { failOnUnhandledRejections } from './helpers/unhandled.js';

const createRunner = trackRunners();
const unhandled = failOnUnhandledRejections();

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
    // (None ran, though the call goes on: its items would be sent again and again.)
    ['ran is 0, for a chunk of 3', (r: TaskRequest) => ({ ...sound(r), ran: 0 })],
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

// What the checks above do not catch (here, a value that throws when read) throws inside
// the scheduler: the call stops and fails with ERR_INTERNAL, whose cause is what was
// thrown, instead of waiting forever for the items it lost.
describe('an answer that throws while it is settled', () => {
  const treacherous = (request: TaskRequest): TaskResponse => {
    const answer = sound(request);
    Object.defineProperty(answer.values, 0, {
      get(): never {
        throw new Error('read me not');
      },
    });
    return answer;
  };
  const internal = { code: 'ERR_INTERNAL', cause: { message: 'read me not' } };

  it.each(['fail-fast', 'settle'] as const)('fails an all() call (%s)', async (policy) => {
    const runner = createRunner({ executor: answering(treacherous) });
    await expect(
      runner.all(tasks.double, [1, 2, 3], { chunkSize: 3, policy }),
    ).rejects.toMatchObject(internal);
  });

  it('ends a map stream with it', async () => {
    const runner = createRunner({ executor: answering(treacherous) });
    await expect(
      runner.map(tasks.double, [1, 2, 3, 4], { chunkSize: 2 }).toArray(),
    ).rejects.toMatchObject(internal);
  });

  it('fails a graph', async () => {
    const runner = createRunner({ executor: answering(treacherous) });
    const graph = runner.graph(
      {
        a: { task: tasks.double, input: 1 },
        b: { task: tasks.double, deps: ['a'], input: (d) => d.a as number },
      },
      { policy: 'settle' },
    );
    await expect(graph).rejects.toMatchObject(internal);
  });

  it('leaves the runner usable', async () => {
    let calls = 0;
    const runner = createRunner({
      executor: answering((request) => (calls++ === 0 ? treacherous(request) : sound(request))),
    });
    await expect(runner.all(tasks.double, [1, 2, 3], { chunkSize: 3 })).rejects.toMatchObject(
      internal,
    );
    await expect(runner.all(tasks.double, [1, 2, 3], { chunkSize: 3 })).resolves.toEqual([2, 4, 6]);
    await runner.close();
  });

  it('waits for the chunk already handed on to its thread, and leaves nothing unhandled', async () => {
    // One thread: each chunk's answer comes a turn later, and the next chunk is sent on
    // the same thread before the first one's outcomes are handed over (and throw).
    const later = answering(treacherous);
    const executor: Executor = {
      ...later,
      parallelism: 1,
      execute: (request, options) =>
        new Promise((resolve) => setImmediate(() => resolve(later.execute(request, options)))),
    };
    const runner = createRunner({ executor });
    const inputs = [1, 2, 3, 4, 5, 6];
    await expect(runner.all(tasks.double, inputs, { chunkSize: 2 })).rejects.toMatchObject(
      internal,
    );
    await runner.close(); // waits for the chunk handed on: it was answered and settled
    expect(unhandled()).toEqual([]);
  });

  it('frees the thread of a session that could not be opened', async () => {
    let opened = 0;
    const executor: Executor = {
      ...answering(sound),
      parallelism: 1,
      open: () => {
        if (opened++ === 0) throw new Error('no session today');
        return undefined as never; // then attempts go to execute()
      },
    };
    const runner = createRunner({ executor });
    await expect(runner.all(tasks.double, [1, 2, 3])).rejects.toMatchObject({
      code: 'ERR_INTERNAL',
      cause: { message: 'no session today' },
    });
    await expect(runner.all(tasks.double, [1, 2, 3])).resolves.toEqual([2, 4, 6]);
  });
});

describe('an executor closed under a call that goes on', () => {
  it("gives the settle map the job's cancelled outcome, not nothing", async () => {
    let calls = 0;
    const closedOnce: Executor = {
      ...answering(sound),
      execute: async (request, options) => {
        if (calls++ === 0) throw new ExecFailure('closed', 'closed by its other owner');
        return answering(sound).execute(request, options);
      },
    };
    const runner = createRunner({ executor: closedOnce });
    const outcomes = await runner
      .map(tasks.double, [1, 2, 3], { policy: 'settle', chunkSize: 1 })
      .toArray();
    expect(outcomes).toMatchObject([
      { status: 'rejected', reason: { code: 'ERR_TASK_CANCELLED' } },
      { status: 'fulfilled', value: 4 },
      { status: 'fulfilled', value: 6 },
    ]);
  });
});
