// onStats receives what a call measured. Its numbers must agree with each other (relations,
// never absolute times): speedup = workMs / wallMs, efficiency = speedup / threads, and the
// job and attempt counts add up.
import { describe, expect, it } from 'vitest';
import { type CallStats, job, type Progress } from '../src/index.js';
import { executors, threads } from './helpers/executors.js';
import { cells, deferred, nextTurn, release, started } from './helpers/latches.js';
import { trackRunners } from './helpers/runners.js';
import { tasks } from './helpers/tasks.js';

const createRunner = trackRunners();

const FIELDS = [
  'jobs',
  'fulfilled',
  'rejected',
  'cancelled',
  'attempts',
  'wallMs',
  'workMs',
  'queueWaitMs',
  'threads',
  'speedup',
  'efficiency',
].sort();

function expectConsistent(stats: CallStats, threads: number): void {
  expect(Object.keys(stats).sort()).toEqual(FIELDS);
  for (const key of FIELDS) expect(Number.isFinite(stats[key as keyof CallStats])).toBe(true);
  expect(stats.threads).toBe(threads);
  expect(stats.fulfilled + stats.rejected + stats.cancelled).toBe(stats.jobs);
  expect(stats.wallMs).toBeGreaterThanOrEqual(0);
  expect(stats.workMs).toBeGreaterThanOrEqual(0);
  expect(stats.queueWaitMs).toBeGreaterThanOrEqual(0);
  if (stats.wallMs > 0) expect(stats.speedup).toBeCloseTo(stats.workMs / stats.wallMs, 9);
  expect(stats.efficiency).toBeCloseTo(stats.speedup / stats.threads, 9);
}

describe.each(executors)('stats on $name', ({ name, options }) => {
  const threadCount = name === 'threads' ? 2 : 1;

  it('calls onStats once, before the call settles, with consistent numbers', async () => {
    const runner = createRunner(options);
    const received: CallStats[] = [];
    const results = await runner.all(tasks.cpu, [200_000, 200_000, 200_000, 200_000], {
      onStats: (s) => received.push(s),
    });
    // It was called by the time the call resolved.
    expect(received).toHaveLength(1);
    expect(results).toHaveLength(4);
    const stats = received[0]!;
    expectConsistent(stats, threadCount);
    expect(stats).toMatchObject({ jobs: 4, fulfilled: 4, rejected: 0, cancelled: 0, attempts: 4 });
    expect(stats.workMs).toBeGreaterThan(0);
    expect(stats.wallMs).toBeGreaterThan(0);
    // Work is done inside the call on at most `threads` threads (a little slack for the
    // clocks of different threads).
    expect(stats.efficiency).toBeLessThanOrEqual(1.05);
  });

  it('counts retries in attempts and failures in rejected (settle report and onStats agree)', async () => {
    const runner = createRunner(options);
    let stats: CallStats | undefined;
    const report = await runner.all(
      [
        job(tasks.flaky, { succeedOn: 3 }),
        job(tasks.failIfOdd, 1),
        job(tasks.double, 1),
        async () => 'local',
      ],
      {
        policy: 'settle',
        retries: 2,
        onStats: (s) => {
          stats = s;
        },
      },
    );
    expect(stats).toEqual(report.stats);
    expectConsistent(report.stats, threadCount);
    const attempts = report.results.reduce((sum, r) => sum + r.attempts, 0);
    // flaky: 3 attempts, failIfOdd: 3 (retried, still odd), double: 1, the function: 1.
    expect(attempts).toBe(8);
    expect(report.stats).toMatchObject({
      jobs: 4,
      fulfilled: 3,
      rejected: 1,
      cancelled: 0,
      attempts: 8,
    });
    // Work is the run time summed over every attempt of every job.
    const runMs = report.results.reduce((sum, r) => sum + r.timing.runMs, 0);
    expect(report.stats.workMs).toBeCloseTo(runMs, 6);
  });

  it('reports a fail-fast call that rejected, with cancelled jobs counted', async () => {
    const runner = createRunner(options);
    let stats: CallStats | undefined;
    let last: Progress | undefined;
    await expect(
      runner.all(
        [job(tasks.failIfOdd, 1), ...Array.from({ length: 3 }, () => job(tasks.double, 1))],
        {
          concurrency: 1,
          onStats: (s) => {
            stats = s;
          },
          onProgress: (p) => {
            last = p;
          },
        },
      ),
    ).rejects.toMatchObject({ code: 'ERR_TASK_FAILED' });
    expect(stats).toBeDefined();
    expectConsistent(stats!, threadCount);
    expect(stats).toMatchObject({ jobs: 4, fulfilled: 0, rejected: 1, cancelled: 3, attempts: 1 });
    // The jobs it never ran count as failed in its progress too (told all at once).
    expect(last).toMatchObject({ done: 0, failed: 4, total: 4 });
  });

  it('reports an any() call, the losers cancelled', async () => {
    const runner = createRunner(options);
    let stats: CallStats | undefined;
    await expect(
      runner.any([job(tasks.double, 2), job(tasks.double, 3), job(tasks.double, 4)], {
        concurrency: 1,
        onStats: (s) => {
          stats = s;
        },
      }),
    ).resolves.toBe(4);
    expectConsistent(stats!, threadCount);
    expect(stats).toMatchObject({ jobs: 3, fulfilled: 1, cancelled: 2 });
  });

  it('run() reports one job', async () => {
    const runner = createRunner(options);
    let stats: CallStats | undefined;
    await runner.run(tasks.double, 1, {
      onStats: (s) => {
        stats = s;
      },
    });
    expectConsistent(stats!, threadCount);
    expect(stats).toMatchObject({ jobs: 1, fulfilled: 1, attempts: 1 });
  });

  it('counts time spent waiting for a thread in queueWaitMs', async () => {
    const runner = createRunner(options);
    const held = cells(2 * runner.threads);
    const busy = runner.all(
      Array.from({ length: runner.threads }, (_, index) =>
        job(tasks.holdAsync, { sab: held.sab, index }),
      ),
    );
    for (let i = 0; i < runner.threads; i++) await started(held.cells, i);
    let stats: CallStats | undefined;
    const queued = runner.run(tasks.double, 1, {
      onStats: (s) => {
        stats = s;
      },
    });
    await nextTurn();
    for (let i = 0; i < runner.threads; i++) release(held.cells, i);
    await queued;
    await busy;
    expectConsistent(stats!, threadCount);
    expect(stats!.queueWaitMs).toBeGreaterThan(0);
  });

  it('counts only attempts that got a thread: dropped queued jobs are neither attempts nor work', async () => {
    const runner = createRunner(options);
    const held = cells(2 * runner.threads);
    const gate = deferred();
    let stats: CallStats | undefined;
    // Every thread is held; four tasks queue for a thread; a main-thread function fails
    // when we say so, which drops the queued tasks (fail-fast) before they ever start.
    const call = runner.all(
      [
        ...Array.from({ length: runner.threads }, (_, index) =>
          job(tasks.holdAsync, { sab: held.sab, index }),
        ),
        ...Array.from({ length: 4 }, () => job(tasks.double, 1)),
        async () => {
          await gate.promise;
          throw new Error('fails');
        },
      ],
      {
        onStats: (s) => {
          stats = s;
        },
      },
    );
    const settled = call.then(
      () => undefined,
      (e: unknown) => e,
    );
    for (let i = 0; i < runner.threads; i++) await started(held.cells, i);
    // Let the queued tasks wait a while: a round trip of CPU work on another runner.
    const other = createRunner({ threads: 1 });
    await other.run(tasks.cpu, 1_000_000);
    gate.resolve();
    expect(await settled).toMatchObject({ code: 'ERR_TASK_FAILED' });
    expectConsistent(stats!, threadCount);
    expect(stats).toMatchObject({
      jobs: runner.threads + 5,
      rejected: 1,
      cancelled: runner.threads + 4,
    });
    // The held tasks and the function ran; the four queued tasks never did.
    expect(stats!.attempts).toBe(runner.threads + 1);
    // What ran (each for at most the whole call) is all the work there was.
    expect(stats!.workMs).toBeLessThanOrEqual((runner.threads + 1) * stats!.wallMs * 1.05);
  });

  it('reports an empty call', async () => {
    const runner = createRunner(options);
    let stats: CallStats | undefined;
    await runner.all(tasks.double, [], {
      onStats: (s) => {
        stats = s;
      },
    });
    expect(stats).toMatchObject({ jobs: 0, fulfilled: 0, rejected: 0, cancelled: 0, attempts: 0 });
    expect(stats!.workMs).toBe(0);
  });
});

describe('stats on threads: a chunk stopped while it runs', () => {
  it('counts the time its thread spent once, shared by its items, not once per item', async () => {
    const runner = createRunner(threads.options);
    const gate = cells(1);
    let stats: CallStats | undefined;
    // Chunks of four: the first thread's items wait for a gate that never opens; the
    // second thread's first item fails at once, which ends its own chunk there (the rest
    // of it never runs) and stops the first thread's chunk.
    const inputs = [
      ...Array.from({ length: 4 }, (_, value) => ({ sab: gate.sab, value })),
      { sab: gate.sab, atLeast: 0, fail: 'the first failure' },
      ...Array.from({ length: 3 }, (_, value) => ({ sab: gate.sab, atLeast: 0, value })),
    ];
    const call = runner.all(tasks.after, inputs, {
      chunkSize: 4,
      onStats: (s) => {
        stats = s;
      },
    });
    await expect(call).rejects.toMatchObject({ code: 'ERR_TASK_FAILED', job: 4 });
    expectConsistent(stats!, runner.threads);
    expect(stats).toMatchObject({ jobs: 8, rejected: 1, cancelled: 7, fulfilled: 0 });
    // Two threads cannot have worked more than twice the wall time; counted once per
    // item, the stopped chunk alone made it about four times.
    expect(stats!.workMs).toBeLessThanOrEqual(runner.threads * stats!.wallMs * 1.05);
    expect(stats!.efficiency).toBeLessThanOrEqual(1.05);
  });
});
