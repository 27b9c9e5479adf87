// all() fails fast by default: the first failure (after its retries) rejects the call,
// queued jobs never start, and running ones are stopped for real.
import { describe, expect, it } from 'vitest';
import { job, TaskError, TaskFailedError } from '../src/index.js';
import { executors, threads } from './helpers/executors.js';
import { cells, deferred, reached, started } from './helpers/latches.js';
import { expectStoppedAndFree, trackRunners } from './helpers/runners.js';
import { fixtures, tasks } from './helpers/tasks.js';

const createRunner = trackRunners();

describe.each(executors)('fail-fast on $name', ({ options }) => {
  it('resolves with every output, in input order, when nothing fails', async () => {
    const runner = createRunner(options);
    await expect(runner.all(tasks.double, [1, 2, 3, 4, 5])).resolves.toEqual([2, 4, 6, 8, 10]);
  });

  it('is the default policy: rejects with the failing job’s TaskError', async () => {
    const runner = createRunner(options);
    const error = await runner.all(tasks.failIfOdd, [2, 4, 5, 6]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskFailedError);
    expect(error).toBeInstanceOf(TaskError);
    expect(error).toMatchObject({
      code: 'ERR_TASK_FAILED',
      job: 2,
      task: { module: fixtures.href, export: 'failIfOdd' },
    });
  });

  it('rejects with the same error when policy is set to fail-fast explicitly', async () => {
    const runner = createRunner(options);
    await expect(runner.all(tasks.failIfOdd, [1], { policy: 'fail-fast' })).rejects.toMatchObject({
      code: 'ERR_TASK_FAILED',
      job: 0,
    });
  });

  it('rejects only after the failing job has used its retries', async () => {
    const runner = createRunner(options);
    const error = await runner
      .all([job(tasks.double, 1), job(tasks.flaky, { succeedOn: 10 })], { retries: 2 })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_TASK_FAILED', job: 1, attempts: 3 });
    expect((error as Error).cause).toMatchObject({ code: 'EFLAKY' });
  });

  it('a job that recovers on retry does not fail the call', async () => {
    const runner = createRunner(options);
    await expect(
      runner.all([job(tasks.double, 1), job(tasks.flaky, { succeedOn: 2 })], { retries: 1 }),
    ).resolves.toEqual([2, 2]);
  });

  it('a failing main-thread function fails the call like a task does', async () => {
    const runner = createRunner(options);
    const error = await runner
      .all({
        ok: job(tasks.double, 1),
        bad: async () => {
          throw new Error('no');
        },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskFailedError);
    expect(error).toMatchObject({ code: 'ERR_TASK_FAILED', job: 'bad', task: undefined });
  });

  it('never starts queued jobs once a job failed (concurrency 1)', async () => {
    const runner = createRunner(options);
    const { sab, cells: counter } = cells(1);
    const later = Array.from({ length: 5 }, () => job(tasks.count, { sab }));
    const error = await runner
      .all([job(tasks.failIfOdd, 1), ...later], { concurrency: 1 })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_TASK_FAILED', job: 0 });
    // A round trip on the same runner: anything left behind would have run by now.
    await expect(runner.run(tasks.double, 1)).resolves.toBe(2);
    expect(Atomics.load(counter, 0)).toBe(0);
  });

  it('never starts queued main-thread functions once a job failed (concurrency 1)', async () => {
    const runner = createRunner(options);
    let calls = 0;
    const later = Array.from({ length: 5 }, () => async () => ++calls);
    await expect(
      runner.all([job(tasks.failIfOdd, 3), ...later], { concurrency: 1 }),
    ).rejects.toMatchObject({ code: 'ERR_TASK_FAILED', job: 0 });
    await expect(runner.run(tasks.double, 1)).resolves.toBe(2);
    expect(calls).toBe(0);
  });

  it('never starts jobs queued for a thread once a job failed', async () => {
    const runner = createRunner(options);
    const { sab, cells: counter } = cells(1);
    // Every thread but one is held; the last one runs the failing job, and the counting
    // jobs wait for a thread. When the failure frees that thread, none of them may take it.
    const held = cells(2 * runner.threads);
    const holders = Array.from({ length: runner.threads - 1 }, (_, index) =>
      job(tasks.holdAsync, { sab: held.sab, index }),
    );
    const later = Array.from({ length: 6 }, () => job(tasks.count, { sab }));
    await expect(runner.all([...holders, job(tasks.failIfOdd, 1), ...later])).rejects.toMatchObject(
      { code: 'ERR_TASK_FAILED', job: runner.threads - 1 },
    );
    await expect(runner.run(tasks.double, 1)).resolves.toBe(2);
    expect(Atomics.load(counter, 0)).toBe(0);
  });

  it('stops a job waiting for its retry backoff when a sibling fails', async () => {
    const runner = createRunner(options);
    const firstFailed = deferred();
    let attempts = 0;
    await expect(
      runner.all(
        [
          () => {
            attempts++;
            firstFailed.resolve();
            throw new Error('retry me, much later');
          },
          async () => {
            await firstFailed.promise;
            throw new Error('fails for good');
          },
        ],
        // Job 0 waits far longer than the test's timeout before retrying; job 1 fails with
        // retryOn refusing, and the call must not wait for job 0's backoff.
        {
          retries: {
            attempts: 1,
            backoff: { initial: 600_000 },
            retryOn: (error) => error.job === 0,
          },
        },
      ),
    ).rejects.toMatchObject({ code: 'ERR_TASK_FAILED', job: 1 });
    expect(attempts).toBe(1);
  });

  it('stops a running main-thread function: its signal aborts', async () => {
    const runner = createRunner(options);
    const running = deferred();
    let aborted: AbortSignal | undefined;
    const sibling = async ({ signal }: { signal: AbortSignal }) => {
      aborted = signal;
      running.resolve();
      await new Promise<never>(() => {});
    };
    const failing = async () => {
      await running.promise;
      throw new Error('fails once the sibling runs');
    };
    await expect(runner.all([sibling, failing])).rejects.toMatchObject({
      code: 'ERR_TASK_FAILED',
      job: 1,
    });
    expect(aborted?.aborted).toBe(true);
  });
});

describe('fail-fast on threads: running siblings are stopped for real', () => {
  it('a sibling spinning without ever yielding stops, and its thread is replaced', async () => {
    const runner = createRunner(threads.options);
    const spin = cells(2);
    const error = await runner
      .all([
        job(tasks.spinForever, { sab: spin.sab }),
        // Fails only once the spinner is running (spinForever counts itself in cell 1).
        job(tasks.after, { sab: spin.sab, index: 1, fail: 'boom' }),
      ])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_TASK_FAILED', job: 1 });
    expect(Atomics.load(spin.cells, 1)).toBe(1);

    // The spinner no longer runs, and every thread is free again.
    await expectStoppedAndFree(runner, spin.cells);
  });

  it('a sibling held by a latch is stopped without being released', async () => {
    const runner = createRunner(threads.options);
    const held = cells(4);
    const call = runner.all([
      job(tasks.hold, { sab: held.sab, index: 0, value: 'never' }),
      job(tasks.after, { sab: held.sab, index: 0, fail: 'boom' }),
    ]);
    await expect(call).rejects.toMatchObject({ code: 'ERR_TASK_FAILED', job: 1 });
    await started(held.cells, 0);
    const gate = cells(1);
    await expect(
      runner.all(tasks.barrier, [
        { sab: gate.sab, parties: 2 },
        { sab: gate.sab, parties: 2 },
      ]),
    ).resolves.toHaveLength(2);
    await reached(gate.cells, 0, 2);
  });
});
