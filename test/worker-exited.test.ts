// ERR_WORKER_EXITED: the worker running a job died (process.exit, out of memory). The
// worker is replaced and the rest of the call goes on. Threads only: on the inline
// executor a task shares the process and nothing survives its exit.
import { describe, expect, it } from 'vitest';
import { FanoutError, job, type Runner, TaskError, WorkerExitedError } from '../src/index.js';
import { threads } from './helpers/executors.js';
import { cells, deferred } from './helpers/latches.js';
import { trackRunners } from './helpers/runners.js';
import { fixtures, tasks } from './helpers/tasks.js';

const createRunner = trackRunners();

/** Both threads are alive: a 2-party barrier completes on two distinct threads. */
async function bothThreadsWork(runner: Runner): Promise<void> {
  const gate = cells(1);
  const ids = await runner.all(tasks.barrier, [
    { sab: gate.sab, parties: 2 },
    { sab: gate.sab, parties: 2 },
  ]);
  expect(new Set(ids).size).toBe(2);
}

describe('ERR_WORKER_EXITED on threads', () => {
  it('reports process.exit() in a task, and replaces the worker', async () => {
    const runner = createRunner(threads.options);
    const error = await runner.run(tasks.exitProcess, 3).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerExitedError);
    expect(error).toBeInstanceOf(TaskError);
    expect(error).toMatchObject({
      code: 'ERR_WORKER_EXITED',
      job: 0,
      task: { module: fixtures.href, export: 'exitProcess' },
    });
    expect((error as Error).cause).toBeInstanceOf(Error);
    await expect(runner.run(tasks.double, 4)).resolves.toBe(8);
    await bothThreadsWork(runner);
  });

  it.each(['rejection', 'immediate'] as const)(
    'blames a task that returns, then crashes its thread (a late %s), not the next job',
    async (how) => {
      const runner = createRunner({ threads: 1 });
      const crash = { how, value: 7 };
      const alone = await runner.run(tasks.crashAfterReturning, crash).catch((e: unknown) => e);
      expect(alone).toMatchObject({ code: 'ERR_WORKER_EXITED', job: 0 });
      expect((alone as Error).message).toContain('late');
      // The next call, sent at once to the same (replaced) thread, is not hit.
      await expect(runner.run(tasks.double, 4)).resolves.toBe(8);
      // In a chunk, only the culprit fails; its chunk-mates run on.
      const report = await runner.all(
        [job(tasks.double, 1), job(tasks.crashAfterReturning, crash), job(tasks.double, 3)],
        { policy: 'settle', chunkSize: 3 },
      );
      expect(report.results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(report.results[1]).toMatchObject({ reason: { code: 'ERR_WORKER_EXITED' } });
    },
  );

  it('fails the calls after a thread could not even start, instead of leaving them queued', async () => {
    // A heap too small for a thread to start (it needs 6-8 MB): each thread dies as it
    // starts, and Piscina then starts no more of them for the pool. (The least fanout takes:
    // smaller ones kill the whole process on Node 22 and later.)
    const runner = createRunner({ threads: 1, resourceLimits: { maxOldGenerationSizeMb: 4 } });
    const heard: unknown[] = [];
    runner.on('error', (error) => heard.push(error));
    await expect(runner.run(tasks.double, 1)).rejects.toMatchObject({ code: 'ERR_WORKER_EXITED' });
    const next = await runner.run(tasks.double, 2).catch((e: unknown) => e);
    expect(next).toMatchObject({ code: 'ERR_WORKER_EXITED' });
    expect((next as Error).message).toContain('no thread could start');
    // (Threads that could not start are the calls' failures, not reported on their own.)
    expect(heard).toEqual([]);
  });

  it('reports a thread that died while no job ran on it (a timer a finished task left), and replaces it', async () => {
    const heard = deferred<Error>();
    const runner = createRunner({ threads: 1, onError: heard.resolve });
    await expect(runner.run(tasks.crashAfterReturning, { how: 'timer', value: 7 })).resolves.toBe(
      7,
    );
    const error = await heard.promise;
    expect(error).toBeInstanceOf(FanoutError);
    expect(error).toMatchObject({ code: 'ERR_WORKER_EXITED' });
    expect(error.message).toContain('no job ran on it');
    expect((error.cause as Error).message).toBe('late throw 7');
    await expect(runner.run(tasks.double, 2)).resolves.toBe(4);
  });

  it('reports running out of memory; the rest of a settle call goes on', async () => {
    const runner = createRunner({
      ...threads.options,
      resourceLimits: { maxOldGenerationSizeMb: 32 },
    });
    const report = await runner.all(
      [
        job(tasks.double, 1),
        job(tasks.exhaustMemory, null),
        job(tasks.double, 2),
        job(tasks.double, 3),
        job(tasks.double, 4),
      ],
      { policy: 'settle' },
    );
    expect(report.results.map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    expect(report.results.map((r) => (r.status === 'fulfilled' ? r.value : undefined))).toEqual([
      2,
      undefined,
      4,
      6,
      8,
    ]);
    const oom = report.results[1]!;
    if (oom.status === 'rejected') {
      expect(oom.reason).toBeInstanceOf(WorkerExitedError);
      expect(oom.reason).toMatchObject({ code: 'ERR_WORKER_EXITED', job: 1 });
    }
    expect(report.counts).toEqual({ total: 5, fulfilled: 4, rejected: 1 });
    await bothThreadsWork(runner);
  });

  it('retries a job whose worker exited, on a new worker', async () => {
    const runner = createRunner(threads.options);
    const report = await runner.all([job(tasks.exitProcess, 1)], {
      policy: 'settle',
      retries: 1,
    });
    expect(report.results[0]).toMatchObject({
      status: 'rejected',
      attempts: 2,
      reason: { code: 'ERR_WORKER_EXITED', attempts: 2 },
    });
    await bothThreadsWork(runner);
  });

  it('fails a fail-fast call with ERR_WORKER_EXITED', async () => {
    const runner = createRunner(threads.options);
    await expect(
      runner.all([job(tasks.double, 1), job(tasks.exitProcess, 0)]),
    ).rejects.toMatchObject({ code: 'ERR_WORKER_EXITED', job: 1 });
    await bothThreadsWork(runner);
  });
});
