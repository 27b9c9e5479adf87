// `timeout` limits each attempt, counted from when its task starts on a thread (after the
// thread's start-up and the loading of the task's module). On threads it stops CPU-bound
// code that never yields by terminating the worker, which is then replaced.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type CallStats,
  defineTask,
  ExecFailure,
  type Executor,
  job,
  TaskError,
  type TaskResponse,
  TaskTimeoutError,
} from '../src/index.js';
import { executors, threads } from './helpers/executors.js';
import { cells, release, started } from './helpers/latches.js';
import { expectStoppedAndFree, trackRunners, warm } from './helpers/runners.js';
import { tasks } from './helpers/tasks.js';

const createRunner = trackRunners();

describe.each(executors)('timeout on $name', ({ options }) => {
  it('fails an attempt that runs too long with ERR_TASK_TIMEOUT and the timeout', async () => {
    const runner = createRunner(options);
    await warm(runner);
    const error = await runner.run(tasks.never, 0, { timeout: 20 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect(error).toBeInstanceOf(TaskError);
    expect(error).toMatchObject({ code: 'ERR_TASK_TIMEOUT', timeout: 20, job: 0, attempts: 1 });
    await expect(runner.run(tasks.double, 4)).resolves.toBe(8);
  });

  it('does not count the loading of the task module: one slower to load than the timeout runs', async () => {
    const runner = createRunner(options);
    const slow = defineTask<number, number>(
      new URL('./fixtures/slow-to-load.mjs', import.meta.url),
      'double',
    );
    // Loading takes 300 ms on each fresh thread; the task itself microseconds.
    await expect(runner.run(slow, 21, { timeout: 100 })).resolves.toBe(42);
  });

  it('fails an attempt that answered past its timeout, even where nothing could stop it', async () => {
    const runner = createRunner(options);
    await warm(runner);
    // On the inline executor the task holds the only thread: its timer cannot fire before
    // the answer, which still comes too late.
    await expect(runner.run(tasks.busyFor, 60, { timeout: 20 })).rejects.toMatchObject({
      code: 'ERR_TASK_TIMEOUT',
      timeout: 20,
    });
    await expect(runner.run(tasks.busyFor, 0, { timeout: 1000 })).resolves.toBe(0);
  });

  it('applies per attempt: a retry gets a fresh timeout', async () => {
    const runner = createRunner(options);
    await warm(runner);
    const report = await runner.all([job(tasks.neverOnFirstAttempt, 0)], {
      policy: 'settle',
      timeout: 100,
      retries: 1,
    });
    expect(report.results[0]).toMatchObject({ status: 'fulfilled', value: 2, attempts: 2 });
  });

  it('reports the last timeout once every attempt timed out', async () => {
    const runner = createRunner(options);
    await warm(runner);
    await expect(runner.run(tasks.never, 0, { timeout: 10, retries: 2 })).rejects.toMatchObject({
      code: 'ERR_TASK_TIMEOUT',
      timeout: 10,
      attempts: 3,
    });
  });

  it('applies to main-thread functions and aborts their signal', async () => {
    const runner = createRunner(options);
    await warm(runner);
    let signal: AbortSignal | undefined;
    const error = await runner
      .all(
        {
          slow: (ctx: { signal: AbortSignal }) => {
            signal = ctx.signal;
            return new Promise<never>(() => {});
          },
        },
        { timeout: 20 },
      )
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_TASK_TIMEOUT', job: 'slow', timeout: 20 });
    expect(signal?.aborted).toBe(true);
  });

  it('does not count time spent waiting for a thread', async () => {
    const runner = createRunner(options);
    await warm(runner);
    const held = cells(2 * runner.threads);
    // Every thread is held until we let go.
    const holders = runner.all(
      Array.from({ length: runner.threads }, (_, index) =>
        job(tasks.holdAsync, { sab: held.sab, index }),
      ),
    );
    for (let i = 0; i < runner.threads; i++) await started(held.cells, i);
    const queued = runner.run(tasks.double, 21, { timeout: 20 });
    // A main-thread function needs no thread: its timeout proves more than 20 ms went by.
    await expect(
      runner.all([() => new Promise<never>(() => {})], { timeout: 40 }),
    ).rejects.toMatchObject({ code: 'ERR_TASK_TIMEOUT' });
    expect(runner.queued).toBe(1);
    for (let i = 0; i < runner.threads; i++) release(held.cells, i);
    await holders;
    await expect(queued).resolves.toBe(42);
  });
});

describe('timeout on threads: CPU-bound code is stopped', () => {
  it('stops a task that never yields, and replaces its worker', async () => {
    const runner = createRunner(threads.options);
    await warm(runner);
    const spin = cells(2);
    const error = await runner
      .run(tasks.spinForever, { sab: spin.sab }, { timeout: 50 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect(error).toMatchObject({ code: 'ERR_TASK_TIMEOUT', timeout: 50 });
    expect(Atomics.load(spin.cells, 1)).toBe(1);

    // The spinner no longer runs, and every thread is free again.
    await expectStoppedAndFree(runner, spin.cells);
  });

  it('counts as work only what ran after the task started: loading the module is none', async () => {
    const runner = createRunner(threads.options);
    const slow = defineTask<number, never>(
      new URL('./fixtures/slow-to-load.mjs', import.meta.url),
      'forever',
    );
    let stats: CallStats | undefined;
    await expect(
      runner.run(slow, 0, {
        timeout: 50,
        onStats: (s) => {
          stats = s;
        },
      }),
    ).rejects.toMatchObject({ code: 'ERR_TASK_TIMEOUT' });
    // The module took 300 ms to load before the task started, within the call's wall time
    // but not within the attempt's work (counted from the dispatch, the work was the wall).
    expect(stats!.attempts).toBe(1);
    expect(stats!.workMs).toBeLessThanOrEqual(stats!.wallMs - 300);
  });

  it('applies per attempt: the retry runs on a fresh worker and succeeds', async () => {
    const runner = createRunner(threads.options);
    await warm(runner);
    const spin = cells(2);
    const report = await runner.all([job(tasks.spinOnFirstAttempt, { sab: spin.sab })], {
      policy: 'settle',
      timeout: 100,
      retries: 1,
    });
    expect(report.results[0]).toMatchObject({ status: 'fulfilled', value: 2, attempts: 2 });
    const before = Atomics.load(spin.cells, 0);
    await expect(runner.run(tasks.double, 2)).resolves.toBe(4);
    expect(Atomics.load(spin.cells, 0)).toBe(before);
  });

  it('times out every spinning attempt and reports the attempts', async () => {
    const runner = createRunner(threads.options);
    await warm(runner);
    const spin = cells(2);
    await expect(
      runner.run(tasks.spinForever, { sab: spin.sab }, { timeout: 100, retries: 1 }),
    ).rejects.toMatchObject({ code: 'ERR_TASK_TIMEOUT', attempts: 2 });
    expect(Atomics.load(spin.cells, 1)).toBe(2);
  });
});

// A main thread busy past an attempt's timeout finds its timer due and, already waiting
// on a port, the attempt's answer: timers fire first. Whether the attempt came in time is
// then judged by the clock of the thread that ran it, not by when its answer was read.
describe('timeout against an answer already waiting', () => {
  // Timers and the clock are faked; immediates are not: an expiry waits for one.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** An executor whose one attempt the test answers; `stops`: it fails when stopped. */
  const held = (stops: boolean) => {
    const attempt = { answer: (_response: TaskResponse) => {} };
    const executor: Executor = {
      kind: 'held',
      parallelism: 1,
      execute: (_request, { onStart, signal }) => {
        onStart?.();
        return new Promise((resolve, reject) => {
          attempt.answer = resolve;
          // Stopped, the attempt fails, as a thread's does when terminated.
          if (stops)
            signal.addEventListener('abort', () => reject(new ExecFailure('aborted', 'stopped')));
        });
      },
      close: async () => {},
      destroy: async () => {},
    };
    return { runner: createRunner({ executor }), attempt };
  };
  // 5 ms of work, by the worker's clock.
  const answer = {
    values: [2],
    failures: undefined,
    times: Float64Array.of(1000, 1005),
    thread: 1,
  };

  it.each(['timed out', 'aborted'])(
    'counts no work for an attempt whose task was never heard to start (%s)',
    async (how) => {
      // An executor that never says its task started, nor answers: the attempt times out
      // after its timeout and the grace for loading (a minute), or is aborted meanwhile.
      const executor: Executor = {
        kind: 'silent',
        parallelism: 1,
        execute: (_request, { signal }) =>
          new Promise((_, reject) => {
            signal.addEventListener('abort', () => reject(new ExecFailure('aborted', 'stopped')));
          }),
        close: async () => {},
        destroy: async () => {},
      };
      const runner = createRunner({ executor });
      const controller = new AbortController();
      let stats: CallStats | undefined;
      const call = runner
        .run(tasks.double, 1, {
          timeout: 100,
          signal: controller.signal,
          onStats: (s) => {
            stats = s;
          },
        })
        .catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(0); // the attempt is sent
      if (how === 'aborted') {
        vi.advanceTimersByTime(50); // while its task loads, say
        controller.abort(new Error('enough'));
        expect(await call).toMatchObject({ message: 'enough' });
      } else {
        vi.advanceTimersToNextTimer(); // the timeout and the grace are over
        await new Promise((resolve) => setImmediate(resolve)); // and stop the attempt
        expect(await call).toMatchObject({ code: 'ERR_TASK_TIMEOUT' });
      }
      expect(stats).toMatchObject({ attempts: 1, workMs: 0 });
    },
  );

  it('takes the answer of an attempt that ran in time', async () => {
    const { runner, attempt } = held(true);
    const call = runner.run(tasks.double, 1, { timeout: 100 });
    await vi.advanceTimersByTimeAsync(0); // the attempt is sent
    vi.advanceTimersToNextTimer(); // its timer is due, as after 100 ms of a busy thread
    vi.advanceTimersByTime(10); // and the thread stays busy 10 ms more
    // Then the answer waiting on its port is read, 110 ms after the attempt started.
    attempt.answer(answer);
    await expect(call).resolves.toBe(2);
  });

  it('times out an attempt answered after its stop, whatever its times say', async () => {
    // An executor that does not stop its attempts: one answers after all.
    const { runner, attempt } = held(false);
    const call = runner.run(tasks.double, 1, { timeout: 50 }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(0);
    vi.advanceTimersToNextTimer(); // the timer is due
    await new Promise((resolve) => setImmediate(resolve)); // and stops the attempt
    attempt.answer(answer);
    expect(await call).toMatchObject({ code: 'ERR_TASK_TIMEOUT' });
  });
});
