// any() resolves with the first job to succeed and cancels the rest; it rejects with an
// AggregateError of every job's TaskError, in input order, only when all fail.
import { describe, expect, it } from 'vitest';
import { job, TaskError } from '../src/index.js';
import { executors, threads } from './helpers/executors.js';
import { cells, deferred } from './helpers/latches.js';
import { expectStoppedAndFree, trackRunners, warm } from './helpers/runners.js';
import { tasks } from './helpers/tasks.js';

const createRunner = trackRunners();

async function aggregate(promise: Promise<unknown>): Promise<AggregateError> {
  const error = await promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${String(value)}`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AggregateError);
  return error as AggregateError;
}

describe.each(executors)('any on $name', ({ options }) => {
  it('resolves with the one job that succeeds, whatever its position', async () => {
    const runner = createRunner(options);
    await expect(runner.any(tasks.failIfOdd, [1, 3, 4, 5])).resolves.toBe(4);
  });

  it('ends a chunk at its first success: the items after it in the chunk do not run', async () => {
    const runner = createRunner(options);
    const counter = cells(1);
    const inputs = Array.from({ length: 6 }, () => ({ sab: counter.sab }));
    // One chunk of six: the first item succeeds, and any needs nothing more.
    await expect(runner.any(tasks.count, inputs, { chunkSize: 6 })).resolves.toBe(1);
    expect(Atomics.load(counter.cells, 0)).toBe(1);
  });

  it('takes a task and any iterable of inputs', async () => {
    const runner = createRunner(options);
    await expect(runner.any(tasks.failIfOdd, new Set([1, 6]))).resolves.toBe(6);
    function* inputs() {
      yield 3;
      yield 8;
    }
    await expect(runner.any(tasks.failIfOdd, inputs())).resolves.toBe(8);
  });

  it('takes an array of jobs and main-thread functions', async () => {
    const runner = createRunner(options);
    await expect(
      runner.any([
        job(tasks.failIfOdd, 1),
        async () => {
          throw new Error('local failure');
        },
        job(tasks.double, 5),
      ]),
    ).resolves.toBe(10);
    await expect(runner.any([job(tasks.failIfOdd, 1), async () => 'local'])).resolves.toBe('local');
  });

  it('takes a record of jobs', async () => {
    const runner = createRunner(options);
    await expect(
      runner.any({ odd: job(tasks.failIfOdd, 1), even: job(tasks.double, 21) }),
    ).resolves.toBe(42);
  });

  it('uses a retry to succeed', async () => {
    const runner = createRunner(options);
    await expect(runner.any([job(tasks.flaky, { succeedOn: 2 })], { retries: 1 })).resolves.toBe(2);
  });

  it('cancels the rest once one succeeds: a running function’s signal aborts', async () => {
    const runner = createRunner(options);
    const running = deferred();
    let loserSignal: AbortSignal | undefined;
    const winner = await runner.any([
      ({ signal }: { signal: AbortSignal }) => {
        loserSignal = signal;
        running.resolve();
        return new Promise<never>(() => {});
      },
      async () => {
        await running.promise;
        return 'won';
      },
    ]);
    expect(winner).toBe('won');
    expect(loserSignal?.aborted).toBe(true);
  });

  it('never starts queued jobs once one succeeded (concurrency 1)', async () => {
    const runner = createRunner(options);
    const { sab, cells: counter } = cells(1);
    await expect(
      runner.any(
        [job(tasks.double, 1), ...Array.from({ length: 4 }, () => job(tasks.count, { sab }))],
        { concurrency: 1 },
      ),
    ).resolves.toBe(2);
    await expect(runner.run(tasks.double, 2)).resolves.toBe(4);
    expect(Atomics.load(counter, 0)).toBe(0);
  });

  it('rejects with an AggregateError of TaskErrors in input order when all fail', async () => {
    const runner = createRunner(options);
    const error = await aggregate(runner.any(tasks.failIfOdd, [1, 3, 5]));
    expect(error.errors).toHaveLength(3);
    error.errors.forEach((e: unknown, i) => {
      expect(e).toBeInstanceOf(TaskError);
      expect(e).toMatchObject({ code: 'ERR_TASK_FAILED', job: i });
    });
  });

  it('keeps input order even when the jobs fail in another order', async () => {
    const runner = createRunner(options);
    const secondFailed = deferred();
    const error = await aggregate(
      runner.any({
        first: async () => {
          await secondFailed.promise;
          throw new Error('fails last');
        },
        second: () => {
          secondFailed.resolve();
          throw new Error('fails first');
        },
        third: job(tasks.failWith, { message: 'bad', field: 'x' }),
      }),
    );
    expect(error.errors.map((e: TaskError) => e.job)).toEqual(['first', 'second', 'third']);
    expect(error.errors.map((e: TaskError) => e.code)).toEqual([
      'ERR_TASK_FAILED',
      'ERR_TASK_FAILED',
      'ERR_TASK_FAILED',
    ]);
  });

  it('keeps each job’s own failure code in the AggregateError', async () => {
    const runner = createRunner(options);
    await warm(runner);
    const error = await aggregate(
      runner.any([job(tasks.notAFunction, 0), job(tasks.never, 0), job(tasks.failIfOdd, 1)], {
        timeout: 20,
      }),
    );
    expect(error.errors.map((e: TaskError) => e.code)).toEqual([
      'ERR_TASK_NOT_FOUND',
      'ERR_TASK_TIMEOUT',
      'ERR_TASK_FAILED',
    ]);
  });

  it('rejects with an empty AggregateError for no jobs', async () => {
    const runner = createRunner(options);
    const error = await aggregate(runner.any(tasks.double, []));
    expect(error.errors).toEqual([]);
  });
});

describe('any on threads: the losers are stopped for real', () => {
  it('stops a sibling spinning forever once a job succeeds', async () => {
    const runner = createRunner(threads.options);
    const spin = cells(2);
    const winner = await runner.any([
      job(tasks.spinForever, { sab: spin.sab }),
      // Succeeds only once the spinner is running.
      job(tasks.after, { sab: spin.sab, index: 1, value: 'first' }),
    ]);
    expect(winner).toBe('first');

    // The spinner no longer runs, and every thread is free again.
    await expectStoppedAndFree(runner, spin.cells);
  });

  it('answers with a success as soon as it comes, not when its chunk would have ended', async () => {
    const runner = createRunner(threads.options);
    const gate = cells(1);
    // Two chunks of two: each thread's first item waits for the gate except one, which
    // succeeds at once; its chunk-mate waits for the gate too, which opens only after.
    const inputs = [
      { sab: gate.sab, atLeast: 0, value: 'quick' },
      { sab: gate.sab, value: 'held' },
      { sab: gate.sab, value: 'held too' },
      { sab: gate.sab, value: 'held three' },
    ];
    const winner = runner.any(tasks.after, inputs, { chunkSize: 2 });
    await expect(winner).resolves.toBe('quick');
    Atomics.store(gate.cells, 0, 1);
    Atomics.notify(gate.cells, 0);
  });
});
