// spawn() starts work and returns at once. Its failures go to onError, or to the runner's
// 'error' event, or to a process warning: never to an unhandled rejection. idle() waits.
import { describe, expect, it } from 'vitest';
import { FanoutError, job, RunnerClosedError, type TaskError } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { cells, deferred, nextTurn, started } from './helpers/latches.js';
import { trackRunners } from './helpers/runners.js';
import { tasks } from './helpers/tasks.js';
import { failOnUnhandledRejections } from './helpers/unhandled.js';

const createRunner = trackRunners();

// Every unhandled rejection during a test is a failure of spawn's contract.
const unhandled = failOnUnhandledRejections();

const jobsOf = (errors: TaskError[]) => errors.map((e) => e.job).sort();

describe.each(executors)('spawn on $name', ({ options }) => {
  it('returns at once and sends each failure to onError', async () => {
    const errors: TaskError[] = [];
    const runner = createRunner({ ...options, onError: (e) => errors.push(e as TaskError) });
    expect(runner.spawn(tasks.failIfOdd, [1, 2, 3, 4])).toBeUndefined();
    await runner.idle();
    await nextTurn();
    expect(jobsOf(errors)).toEqual([0, 2]);
    for (const e of errors) expect(e).toMatchObject({ code: 'ERR_TASK_FAILED' });
    expect(unhandled()).toEqual([]);
  });

  it('settles by default: every job runs even when one fails', async () => {
    const errors: TaskError[] = [];
    const runner = createRunner({ ...options, onError: (e) => errors.push(e as TaskError) });
    const { sab, cells: counter } = cells(1);
    runner.spawn([job(tasks.failIfOdd, 1), job(tasks.count, { sab }), job(tasks.count, { sab })], {
      concurrency: 1,
    });
    // A policy given as undefined (options spread from a config) is left out too.
    // (The types leave undefined out; JavaScript callers need not.)
    const spread = { concurrency: 1, policy: undefined } as unknown as { concurrency: number };
    runner.spawn(
      [job(tasks.failIfOdd, 3), job(tasks.count, { sab }), job(tasks.count, { sab })],
      spread,
    );
    await runner.idle();
    expect(Atomics.load(counter, 0)).toBe(4);
    expect(jobsOf(errors)).toEqual([0, 0]);
  });

  it('stopped before it read every job (aborted, or failing fast on a full queue), reports only real failures', async () => {
    const errors: TaskError[] = [];
    const runner = createRunner({
      ...options,
      maxQueue: 1,
      onError: (e) => errors.push(e as TaskError),
    });
    // An abort before the start: nothing is read, nothing is reported.
    runner.spawn(tasks.double, [1, 2, 3], { signal: AbortSignal.abort(new Error('no')) });
    // Fail-fast under maxQueue: the first input past the limit fails and stops the reading.
    runner.spawn(
      tasks.double,
      Array.from({ length: 20 }, (_, i) => i),
      { policy: 'fail-fast' },
    );
    await runner.idle();
    expect(errors.map((e) => e.code)).toEqual(['ERR_QUEUE_FULL']);
  });

  it('fail-fast spawn reports the failure once, not the jobs it cancelled', async () => {
    const errors: TaskError[] = [];
    const runner = createRunner({ ...options, onError: (e) => errors.push(e as TaskError) });
    const running = deferred();
    runner.spawn(
      [
        () => {
          running.resolve();
          return new Promise<never>(() => {});
        },
        async () => {
          await running.promise;
          throw new Error('fails');
        },
        job(tasks.double, 1),
      ],
      { policy: 'fail-fast' },
    );
    await runner.idle();
    await nextTurn();
    expect(errors.map((e) => [e.job, e.code])).toEqual([[1, 'ERR_TASK_FAILED']]);
  });

  it('emits failures as the runner’s error event when there is no onError', async () => {
    const runner = createRunner(options);
    const errors: TaskError[] = [];
    runner.on('error', (e) => errors.push(e as TaskError));
    runner.spawn({ a: job(tasks.failIfOdd, 1), b: job(tasks.double, 1) });
    await runner.idle();
    expect(errors.map((e) => [e.job, e.code])).toEqual([['a', 'ERR_TASK_FAILED']]);
  });

  it('falls back to a process warning, never an unhandled rejection', async () => {
    const runner = createRunner(options);
    const warnings: unknown[] = [];
    const onWarning = (w: unknown) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      runner.spawn(tasks.failIfOdd, [5]);
      await runner.idle();
      await nextTurn();
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ code: 'ERR_TASK_FAILED', job: 0 });
    expect(unhandled()).toEqual([]);
  });

  it('sends what a callback of the call threw to onError, as an Error', async () => {
    const errors: Error[] = [];
    const runner = createRunner({ ...options, onError: (e) => errors.push(e) });
    runner.spawn(tasks.double, [1], {
      onStats: () => {
        throw new Error('stats bug');
      },
    });
    runner.spawn(tasks.double, [2], {
      onStats: () => {
        throw 'not an Error';
      },
    });
    await runner.idle();
    expect(errors.map((e) => e.message).sort()).toEqual([
      'a callback threw `"not an Error"` (string)',
      'stats bug',
    ]);
    expect(errors.find((e) => e.message.startsWith('a callback'))?.cause).toBe('not an Error');
    expect(unhandled()).toEqual([]);
  });

  it('a throwing onError does not become an unhandled rejection', async () => {
    const runner = createRunner({
      ...options,
      onError: () => {
        throw new Error('handler bug');
      },
    });
    const warnings: unknown[] = [];
    const onWarning = (w: unknown) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      runner.spawn(tasks.failIfOdd, [1]);
      await runner.idle();
      await nextTurn();
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toHaveLength(1);
    expect(unhandled()).toEqual([]);
  });

  it('idle() resolves only once the detached work has ended', async () => {
    const runner = createRunner(options);
    const gate = deferred<string>();
    let finished = false;
    runner.spawn([
      async () => {
        await gate.promise;
        finished = true;
      },
    ]);
    let idle = false;
    const waiting = runner.idle().then(() => {
      idle = true;
    });
    // A round trip of other work on the same runner: idle() must still be waiting.
    await expect(runner.run(tasks.double, 2)).resolves.toBe(4);
    await nextTurn();
    expect(idle).toBe(false);
    gate.resolve('go');
    await waiting;
    expect(finished).toBe(true);
  });

  it('idle() waits for work spawned while it waits', async () => {
    const runner = createRunner(options);
    const first = deferred();
    const second = deferred();
    let done = 0;
    runner.spawn([
      async () => {
        await first.promise;
        done++;
      },
    ]);
    const waiting = runner.idle();
    runner.spawn([
      async () => {
        await second.promise;
        done++;
      },
    ]);
    first.resolve();
    second.resolve();
    await waiting;
    expect(done).toBe(2);
  });

  it('idle() resolves at once when nothing was spawned', async () => {
    const runner = createRunner(options);
    await expect(runner.idle()).resolves.toBeUndefined();
  });

  it('close() waits for spawned work', async () => {
    const runner = createRunner(options);
    const gate = deferred();
    let finished = false;
    runner.spawn([
      async () => {
        await gate.promise;
        finished = true;
      },
    ]);
    const closing = runner.close();
    gate.resolve();
    await closing;
    expect(finished).toBe(true);
  });

  it('throws invalid arguments synchronously', () => {
    const runner = createRunner(options);
    expect(() => runner.spawn([42 as never])).toThrow(TypeError);
    expect(() => runner.spawn(tasks.double, 42 as never)).toThrow(TypeError);
    expect(() => runner.spawn(tasks.double, [1], { concurrency: 0 })).toThrow(RangeError);
  });

  it('reports what reading its inputs threw to onError, without throwing it', async () => {
    const errors: Error[] = [];
    const runner = createRunner({ ...options, onError: (e) => errors.push(e) });
    const boom = new Error('source boom');
    function* inputs(): Generator<number> {
      yield 1;
      throw boom;
    }
    runner.spawn(tasks.double, inputs());
    runner.spawn(tasks.double, {
      [Symbol.iterator]: () => ({ next: () => 42 }),
    } as unknown as Iterable<number>);
    runner.spawn(tasks.double, {
      [Symbol.iterator]() {
        throw 'not an Error';
      },
    });
    await runner.idle();
    expect(errors[0]).toBe(boom);
    expect(errors[1]).toBeInstanceOf(TypeError);
    expect(errors[1]?.message).toBe('Iterator result 42 is not an object');
    expect(errors[2]?.message).toBe('reading the inputs threw `"not an Error"` (string)');
    expect(errors[2]?.cause).toBe('not an Error');
    expect(errors).toHaveLength(3);
    expect(unhandled()).toEqual([]);
  });

  it('reports the jobs destroy() dropped once per call, as ERR_RUNNER_CLOSED', async () => {
    const errors: Error[] = [];
    const runner = createRunner({ ...options, onError: (e) => errors.push(e) });
    // Work that ended before the destroy has nothing to report.
    runner.spawn(tasks.double, [1]);
    await runner.idle();
    const held = cells(2);
    runner.spawn(
      tasks.holdAsync,
      Array.from({ length: 3 }, () => ({ sab: held.sab, index: 0 })),
      { concurrency: 1 },
    );
    await started(held.cells, 0);
    await runner.destroy();
    await runner.idle();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(RunnerClosedError);
    expect(errors[0]?.message).toBe(
      'The runner was destroyed while spawn() ran: 3 of its 3 jobs were dropped',
    );
    expect(unhandled()).toEqual([]);
  });

  it('reports spawn on a closed runner to onError as ERR_RUNNER_CLOSED', async () => {
    const errors: unknown[] = [];
    const runner = createRunner({ ...options, onError: (e) => errors.push(e as TaskError) });
    await runner.close();
    runner.spawn(tasks.double, [1]);
    await runner.idle();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(FanoutError);
    expect(errors[0]).toMatchObject({ code: 'ERR_RUNNER_CLOSED' });
  });
});
