// ERR_QUEUE_FULL: with `maxQueue` attempts already waiting for a thread, one more fails at
// once (load shedding). Threads are held busy by latches, so the queue fills for sure.
import { describe, expect, it } from 'vitest';
import { type CallStats, job, QueueFullError, type Runner, TaskError } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { cells, nextTurn, release, started } from './helpers/latches.js';
import { trackRunners } from './helpers/runners.js';
import { fixtures, tasks } from './helpers/tasks.js';

const createRunner = trackRunners();

describe.each(executors)('ERR_QUEUE_FULL on $name', ({ name, options }) => {
  // Real threads block in Atomics.wait; the inline executor's only thread is the main one.
  const holdTask = name === 'threads' ? tasks.hold : tasks.holdAsync;

  /** Occupies every thread of `runner` until released; resolves once all have started. */
  async function occupy(runner: Runner) {
    const held = cells(2 * runner.threads);
    const call = runner.all(
      Array.from({ length: runner.threads }, (_, index) =>
        job(holdTask, { sab: held.sab, index, value: index }),
      ),
    );
    for (let i = 0; i < runner.threads; i++) await started(held.cells, i);
    return {
      call,
      releaseAll: () => {
        for (let i = 0; i < runner.threads; i++) release(held.cells, i);
      },
    };
  }

  it('fails the attempt beyond maxQueue, while the queued one waits and then runs', async () => {
    const runner = createRunner({ ...options, maxQueue: 1 });
    const busy = await occupy(runner);
    const queued = runner.run(tasks.double, 1);
    await nextTurn();
    expect(runner.queued).toBe(1);
    const error = await runner.run(tasks.double, 2).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueFullError);
    expect(error).toBeInstanceOf(TaskError);
    expect(error).toMatchObject({
      code: 'ERR_QUEUE_FULL',
      job: 0,
      task: { module: fixtures.href, export: 'double' },
    });
    busy.releaseAll();
    await expect(busy.call).resolves.toHaveLength(runner.threads);
    await expect(queued).resolves.toBe(2);
    expect(runner.queued).toBe(0);
  });

  it('with maxQueue 0, nothing may wait', async () => {
    const runner = createRunner({ ...options, maxQueue: 0 });
    const busy = await occupy(runner);
    await expect(runner.run(tasks.double, 1)).rejects.toMatchObject({ code: 'ERR_QUEUE_FULL' });
    busy.releaseAll();
    await busy.call;
    // Once a thread is free the same call succeeds.
    await expect(runner.run(tasks.double, 1)).resolves.toBe(2);
  });

  it('fails only the jobs beyond the limit in a settle call', async () => {
    const runner = createRunner({ ...options, maxQueue: 1 });
    const busy = await occupy(runner);
    const call = runner.all([job(tasks.double, 1), job(tasks.double, 2), job(tasks.double, 3)], {
      policy: 'settle',
    });
    // The first job queues; the other two find the queue full.
    busy.releaseAll();
    const settled = await call;
    expect(
      settled.results.map((r) => (r.status === 'fulfilled' ? r.value : r.reason.code)),
    ).toEqual([2, 'ERR_QUEUE_FULL', 'ERR_QUEUE_FULL']);
    await busy.call;
  });

  it('fails the inputs of one task beyond the limit, as it fails jobs', async () => {
    const runner = createRunner({ ...options, maxQueue: 2 });
    const busy = await occupy(runner);
    const settled = runner.all(tasks.double, [1, 2, 3, 4, 5], { policy: 'settle' });
    const mapped = runner.map(tasks.double, [1, 2, 3, 4, 5], { policy: 'settle' }).toArray();
    busy.releaseAll();
    expect(
      (await settled).results.map((r) => (r.status === 'fulfilled' ? r.value : r.reason.code)),
    ).toEqual([2, 4, 'ERR_QUEUE_FULL', 'ERR_QUEUE_FULL', 'ERR_QUEUE_FULL']);
    // The map's inputs came after the all()'s had filled the queue.
    expect((await mapped).map((r) => (r.status === 'fulfilled' ? r.value : r.reason.code))).toEqual(
      Array(5).fill('ERR_QUEUE_FULL'),
    );
    await busy.call;
  });

  it('stops reading the inputs at the first one beyond the limit when it fails fast', async () => {
    const runner = createRunner({ ...options, maxQueue: 2 });
    const busy = await occupy(runner);
    let stats: CallStats | undefined;
    const call = runner.all(tasks.double, [1, 2, 3, 4, 5], {
      onStats: (s) => {
        stats = s;
      },
    });
    await expect(call).rejects.toMatchObject({ code: 'ERR_QUEUE_FULL', job: 2 });
    // Jobs 0 and 1 were queued (and are cancelled), job 2 failed; 3 and 4 were never read.
    expect(stats).toMatchObject({ jobs: 3, rejected: 1, cancelled: 2, attempts: 0 });
    busy.releaseAll();
    await busy.call;
  });

  it('is not retried by default', async () => {
    const runner = createRunner({ ...options, maxQueue: 0 });
    const busy = await occupy(runner);
    await expect(runner.run(tasks.double, 1, { retries: 3 })).rejects.toMatchObject({
      code: 'ERR_QUEUE_FULL',
      attempts: 1,
    });
    busy.releaseAll();
    await busy.call;
  });

  it('does not count main-thread functions, which need no thread', async () => {
    const runner = createRunner({ ...options, maxQueue: 0 });
    const busy = await occupy(runner);
    await expect(runner.all([async () => 'local', () => 'sync'])).resolves.toEqual([
      'local',
      'sync',
    ]);
    busy.releaseAll();
    await busy.call;
  });

  it('lets any number wait by default', async () => {
    const runner = createRunner(options);
    const busy = await occupy(runner);
    const many = runner.all(tasks.double, [1, 2, 3, 4, 5, 6, 7, 8]);
    busy.releaseAll();
    await expect(many).resolves.toEqual([2, 4, 6, 8, 10, 12, 14, 16]);
    await busy.call;
  });
});
