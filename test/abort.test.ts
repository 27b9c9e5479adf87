// `signal` cancels a whole call: it rejects with the signal's reason, nothing more starts,
// and running tasks are stopped.
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { job } from '../src/index.js';
import { executors, threads } from './helpers/executors.js';
import { cells, deferred, reached, started } from './helpers/latches.js';
import { expectStoppedAndFree, trackRunners } from './helpers/runners.js';
import { tasks } from './helpers/tasks.js';

const createRunner = trackRunners();

describe.each(executors)('abort on $name', ({ options }) => {
  it('an already-aborted signal rejects with its reason before anything starts', async () => {
    const runner = createRunner(options);
    const reason = new Error('stop before starting');
    const signal = AbortSignal.abort(reason);
    const { sab, cells: counter } = cells(1);
    let called = false;
    const fn = () => {
      called = true;
    };
    await expect(runner.run(tasks.count, { sab }, { signal })).rejects.toBe(reason);
    await expect(runner.all([job(tasks.count, { sab }), fn], { signal })).rejects.toBe(reason);
    await expect(
      runner.all([job(tasks.count, { sab }), fn], { signal, policy: 'settle' }),
    ).rejects.toBe(reason);
    await expect(runner.any([job(tasks.count, { sab }), fn], { signal })).rejects.toBe(reason);
    await expect(runner.run(tasks.double, 1)).resolves.toBe(2);
    expect(Atomics.load(counter, 0)).toBe(0);
    expect(called).toBe(false);
  });

  it('aborting mid-call rejects with the reason and stops running work', async () => {
    const runner = createRunner(options);
    const controller = new AbortController();
    const reason = new Error('user cancelled');
    const held = cells(2);
    const fnStarted = deferred();
    let fnSignal: AbortSignal | undefined;
    const call = runner.all(
      [
        job(tasks.holdAsync, { sab: held.sab, index: 0 }),
        ({ signal }: { signal: AbortSignal }) => {
          fnSignal = signal;
          fnStarted.resolve();
          return new Promise<never>(() => {});
        },
      ],
      { signal: controller.signal },
    );
    await started(held.cells, 0);
    await fnStarted.promise;
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
    expect(fnSignal?.aborted).toBe(true);
    // The runner is usable again: nothing is left holding its threads.
    await expect(runner.all(tasks.double, [1, 2, 3])).resolves.toEqual([2, 4, 6]);
    expect(runner.queued).toBe(0);
  });

  it('rejects a settle call too, with the reason', async () => {
    const runner = createRunner(options);
    const controller = new AbortController();
    const fnStarted = deferred();
    const call = runner.all(
      [
        job(tasks.double, 1),
        () => {
          fnStarted.resolve();
          return new Promise<never>(() => {});
        },
      ],
      { policy: 'settle', signal: controller.signal },
    );
    await fnStarted.promise;
    controller.abort();
    // Without an explicit reason, the signal's reason is an AbortError DOMException.
    const error = await call.catch((e: unknown) => e);
    expect(error).toBe(controller.signal.reason);
    expect(error).toMatchObject({ name: 'AbortError' });
  });

  it('drops queued jobs: they never start', async () => {
    const runner = createRunner(options);
    const controller = new AbortController();
    const held = cells(2);
    const { sab, cells: counter } = cells(1);
    const call = runner.all(
      [
        job(tasks.holdAsync, { sab: held.sab, index: 0 }),
        ...Array.from({ length: 4 }, () => job(tasks.count, { sab })),
      ],
      { concurrency: 1, signal: controller.signal },
    );
    await started(held.cells, 0);
    controller.abort('enough');
    await expect(call).rejects.toBe('enough');
    await expect(runner.run(tasks.double, 1)).resolves.toBe(2);
    expect(Atomics.load(counter, 0)).toBe(0);
  });

  it('aborts any() like all()', async () => {
    const runner = createRunner(options);
    const controller = new AbortController();
    const fnStarted = deferred();
    const call = runner.any(
      [
        () => {
          fnStarted.resolve();
          return new Promise<never>(() => {});
        },
      ],
      { signal: controller.signal },
    );
    await fnStarted.promise;
    controller.abort('no winner');
    await expect(call).rejects.toBe('no winner');
  });

  it('removes its abort listener once the call is over', async () => {
    const runner = createRunner(options);
    const controller = new AbortController();
    for (let i = 0; i < 20; i++) {
      await runner.all(tasks.double, [1, 2], { signal: controller.signal });
      await runner.all(tasks.failIfOdd, [1], { signal: controller.signal }).catch(() => {});
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('listens once to a signal that many calls under way share, and stops them all', async () => {
    const runner = createRunner(options);
    const controller = new AbortController();
    const reason = new Error('shutting down');
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      // Each call's one job never settles: they end by the abort.
      const calls = Array.from({ length: 50 }, () =>
        runner.run(tasks.never, null, { signal: controller.signal }).then(
          () => 'fulfilled',
          (e: unknown) => e,
        ),
      );
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
      controller.abort(reason);
      for (const outcome of await Promise.all(calls)) expect(outcome).toBe(reason);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('cancels a retry waiting for its backoff', async () => {
    const runner = createRunner(options);
    const controller = new AbortController();
    const failed = deferred();
    let attempts = 0;
    const call = runner.all(
      [
        () => {
          attempts++;
          failed.resolve();
          throw new Error('retry me');
        },
      ],
      // A backoff far longer than the test's own timeout: only the abort can end the call.
      { signal: controller.signal, retries: { attempts: 3, backoff: { initial: 600_000 } } },
    );
    await failed.promise;
    controller.abort('stop waiting');
    await expect(call).rejects.toBe('stop waiting');
    expect(attempts).toBe(1);
  });

  it('aborting after the call settled changes nothing', async () => {
    const runner = createRunner(options);
    const controller = new AbortController();
    await expect(runner.all(tasks.double, [1, 2], { signal: controller.signal })).resolves.toEqual([
      2, 4,
    ]);
    controller.abort();
    await expect(runner.run(tasks.double, 3)).resolves.toBe(6);
  });
});

describe('abort on threads: CPU-bound code is stopped', () => {
  it('stops a task that never yields, and its thread is replaced', async () => {
    const runner = createRunner(threads.options);
    const controller = new AbortController();
    const spin = cells(2);
    const call = runner.run(tasks.spinForever, { sab: spin.sab }, { signal: controller.signal });
    await reached(spin.cells, 1); // the spinner announces itself in cell 1
    controller.abort('stop spinning');
    await expect(call).rejects.toBe('stop spinning');

    // The spinner no longer runs, and every thread is free again.
    await expectStoppedAndFree(runner, spin.cells);
  });
});
