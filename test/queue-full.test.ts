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

  it('counts a job that got a thread as started, not waiting, even before it leaves the queue', async () => {
    const runner = createRunner({ ...options, maxQueue: 1 });
    const slots = Math.max(1, runner.threads);
    // Calls made in one go: each that gets a free thread holds it before taking its job
    // off the queue (a turn later); those jobs are not waiting, so the queue still has room
    // for one. (They were counted twice, and calls that would run at once were shed.)
    const held = cells(2 * (slots + 2));
    const calls = Array.from({ length: slots + 2 }, (_, index) =>
      runner.run(holdTask, { sab: held.sab, index, value: index }).then(
        (value) => value,
        (error: TaskError) => error.code,
      ),
    );
    for (let i = 0; i < slots; i++) await started(held.cells, i);
    expect(runner.queued).toBe(1);
    for (let i = 0; i < slots + 2; i++) release(held.cells, i);
    expect(await Promise.all(calls)).toEqual([
      ...Array.from({ length: slots + 1 }, (_, i) => i),
      'ERR_QUEUE_FULL',
    ]);
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
    busy.releaseAll();
    expect(
      (await settled).results.map((r) => (r.status === 'fulfilled' ? r.value : r.reason.code)),
    ).toEqual([2, 4, 'ERR_QUEUE_FULL', 'ERR_QUEUE_FULL', 'ERR_QUEUE_FULL']);
    await busy.call;
  });

  it('holds a map back while the queue is full instead of failing what it reads', async () => {
    const runner = createRunner({ ...options, maxQueue: 2 });
    const busy = await occupy(runner);
    let reads = 0;
    function* counted(values: number[]) {
      for (const value of values) {
        reads++;
        yield value;
      }
    }
    // Another call fills the queue: the map reads nothing until there is room.
    const queued = runner.all(tasks.double, [1, 2], { policy: 'settle' });
    const crowded = runner.map(tasks.double, counted([1, 2, 3]), { policy: 'settle' }).toArray();
    for (let i = 0; i < 20; i++) await nextTurn();
    expect(runner.queued).toBe(2);
    expect(reads).toBe(0);
    busy.releaseAll();
    await busy.call;
    expect((await queued).counts).toMatchObject({ fulfilled: 2, rejected: 0 });
    expect(
      (await crowded).map((r) => (r.status === 'fulfilled' ? r.value : r.reason.code)),
    ).toEqual([2, 4, 6]);
    // Alone, a map reads up to the limit (the threads busy), then waits, and every input
    // runs: its own read-ahead is never shed.
    const again = await occupy(runner);
    reads = 0;
    const alone = runner.map(tasks.double, counted([1, 2, 3, 4, 5])).toArray();
    while (runner.queued < 2) await nextTurn();
    for (let i = 0; i < 20; i++) await nextTurn();
    expect(reads).toBe(2);
    again.releaseAll();
    await expect(alone).resolves.toEqual([2, 4, 6, 8, 10]);
    await again.call;
    expect(runner.queued).toBe(0);
  });

  it('holds the ready nodes of a graph back while the queue is full instead of failing them', async () => {
    const runner = createRunner({ ...options, maxQueue: 1 });
    const busy = await occupy(runner);
    const nodes = Object.fromEntries(
      Array.from({ length: 8 }, (_, i) => [`n${i}`, { task: tasks.double, input: i }]),
    );
    const report = runner.graph(nodes, { policy: 'settle' });
    while (runner.queued < 1) await nextTurn();
    for (let i = 0; i < 20; i++) await nextTurn();
    expect(runner.queued).toBe(1);
    // A graph that finds the queue full of others' jobs has its first node shed, as a job of
    // all() is; the nodes after it wait for room.
    const late = runner.graph(
      { a: { task: tasks.double, input: 1 }, b: { task: tasks.double, input: 2 } },
      { policy: 'settle' },
    );
    busy.releaseAll();
    await busy.call;
    expect((await report).counts).toEqual({ total: 8, fulfilled: 8, rejected: 0, skipped: 0 });
    const { results } = await late;
    expect(results.a).toMatchObject({ reason: { code: 'ERR_QUEUE_FULL' } });
    expect(results.b).toMatchObject({ status: 'fulfilled', value: 4 });
  });

  it('holds the next node of a chain back until its thread is free, with maxQueue 0', async () => {
    // (The node before it holds the one thread while its end makes the next one ready.)
    const runner = createRunner({
      ...options,
      ...(name === 'threads' ? { threads: 1 } : {}),
      maxQueue: 0,
    });
    const report = await runner.graph(
      {
        a: { task: tasks.double, input: 1 },
        b: { task: tasks.double, input: (d) => d.a as number, deps: ['a'] },
        c: { task: tasks.double, input: (d) => d.b as number, deps: ['b'] },
      },
      { policy: 'settle' },
    );
    expect(report.counts).toEqual({ total: 3, fulfilled: 3, rejected: 0, skipped: 0 });
    expect(report.results.c).toMatchObject({ value: 8 });
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

  it('is not retried by default, and counts no attempt (none ran)', async () => {
    const runner = createRunner({ ...options, maxQueue: 0 });
    const busy = await occupy(runner);
    let outcome: unknown;
    await expect(
      runner.all(tasks.double, [1], { retries: 3, policy: 'settle' }).then((r) => {
        outcome = r.results[0];
      }),
    ).resolves.toBeUndefined();
    expect(outcome).toMatchObject({ status: 'rejected', attempts: 0 });
    expect((outcome as { reason: TaskError }).reason).toMatchObject({
      code: 'ERR_QUEUE_FULL',
      attempts: 0,
    });
    busy.releaseAll();
    await busy.call;
  });

  it('ends a job whose retry would wait past the limit with its own failure', async () => {
    const runner = createRunner({ ...options, maxQueue: 0 });
    const slots = Math.max(1, runner.threads);
    const held = cells(2 * slots);
    const hold = (index: number) => runner.run(holdTask, { sab: held.sab, index, value: index });
    // Every thread but one is busy; the job fails on the last one, and by the time its
    // retry is due the thread it freed is taken too, with nothing allowed to wait.
    const others = Array.from({ length: slots - 1 }, (_, i) => hold(i));
    for (let i = 0; i < slots - 1; i++) await started(held.cells, i);
    let last: Promise<unknown> | undefined;
    const error = await runner
      .run(
        tasks.failWith,
        { message: 'the first try failed', field: 'x' },
        {
          retries: {
            attempts: 1,
            backoff: { initial: 50 },
            retryOn: () => {
              // Once the failed attempt's thread is free (the next check phase, before any
              // timer of the backoff can fire).
              setImmediate(() => {
                last = hold(slots - 1);
              });
              return true;
            },
          },
        },
      )
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_TASK_FAILED', attempts: 1 });
    expect((error as Error).message).toContain('the first try failed');
    for (let i = 0; i < slots; i++) release(held.cells, i);
    await Promise.all([...others, last]);
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
