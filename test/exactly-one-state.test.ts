// Every job ends in exactly one state, and every input is accounted for: nothing lost,
// nothing reported twice, whatever mix of successes, failures, retries and cancellations.
import { describe, expect, it } from 'vitest';
import { type CallStats, type JobLike, job, type TaskError } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { deferred } from './helpers/latches.js';
import { trackRunners } from './helpers/runners.js';
import { tasks } from './helpers/tasks.js';

const createRunner = trackRunners();

/** A mix: succeeding, failing, recovering on retry, failing after retries, main-thread. */
function mixedJobs(): JobLike[] {
  return [
    job(tasks.double, 1),
    job(tasks.failIfOdd, 3),
    job(tasks.flaky, { succeedOn: 2 }),
    job(tasks.flaky, { succeedOn: 9 }),
    async () => 'local',
    () => {
      throw new Error('local failure');
    },
    job(tasks.notAFunction, null),
    job(tasks.unclonableOutput, null),
    job(tasks.failIfOdd, 4),
    job(tasks.throwNull, null),
  ];
}

describe.each(executors)('exactly one state per job on $name', ({ options }) => {
  it('a settle report has exactly one outcome per input, and the counts add up', async () => {
    const runner = createRunner(options);
    const jobs = mixedJobs();
    let stats: CallStats | undefined;
    const report = await runner.all(jobs, {
      policy: 'settle',
      retries: 1,
      onStats: (s) => {
        stats = s;
      },
    });
    expect(report.results).toHaveLength(jobs.length);
    const statuses = report.results.map((r) => r.status);
    expect(statuses).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'rejected',
      'fulfilled',
      'rejected',
      'rejected',
      'rejected',
      'fulfilled',
      'rejected',
    ]);
    report.results.forEach((r, i) => {
      // A tagged union: exactly one of value / reason.
      if (r.status === 'fulfilled') expect('reason' in r).toBe(false);
      else {
        expect('value' in r).toBe(false);
        expect(r.reason.job).toBe(i);
      }
      expect(r.attempts).toBeGreaterThanOrEqual(1);
    });
    expect(report.counts.total).toBe(jobs.length);
    expect(report.counts.fulfilled + report.counts.rejected).toBe(report.counts.total);
    expect(report.counts).toEqual({ total: 10, fulfilled: 4, rejected: 6 });
    expect(stats!.fulfilled + stats!.rejected + stats!.cancelled).toBe(stats!.jobs);
    expect(stats).toMatchObject({ jobs: 10, fulfilled: 4, rejected: 6, cancelled: 0 });
    expect(stats!.attempts).toBe(report.results.reduce((n, r) => n + r.attempts, 0));
  });

  it('a record report has exactly the input’s keys', async () => {
    const runner = createRunner(options);
    const jobs = Object.fromEntries(mixedJobs().map((j, i) => [`k${i}`, j]));
    const report = await runner.all(jobs, { policy: 'settle' });
    expect(Object.keys(report.results)).toEqual(Object.keys(jobs));
    for (const [key, r] of Object.entries(report.results)) {
      if (r.status === 'rejected') expect(r.reason.job).toBe(key);
    }
  });

  it('a fail-fast call accounts for every job: one failure, the rest done or cancelled', async () => {
    const runner = createRunner(options);
    const jobs = [...mixedJobs(), ...mixedJobs()];
    let stats: CallStats | undefined;
    await expect(
      runner.all(jobs, {
        concurrency: 2,
        onStats: (s) => {
          stats = s;
        },
      }),
    ).rejects.toMatchObject({ code: 'ERR_TASK_FAILED' });
    expect(stats!.jobs).toBe(jobs.length);
    expect(stats!.fulfilled + stats!.rejected + stats!.cancelled).toBe(jobs.length);
    // A job failed (two on threads may fail in the same instant); what had not ended by
    // then was cancelled, and most jobs never started.
    expect(stats!.rejected).toBeGreaterThanOrEqual(1);
    expect(stats!.cancelled).toBeGreaterThanOrEqual(jobs.length - 6);
  });

  it('an any() call accounts for every job', async () => {
    const runner = createRunner(options);
    const never = deferred();
    let stats: CallStats | undefined;
    const winner = await runner.any(
      [
        // Fails at once, before any worker task can end.
        () => {
          throw new Error('fails first');
        },
        () => never.promise,
        job(tasks.double, 2),
        job(tasks.double, 3),
        job(tasks.double, 4),
      ],
      {
        concurrency: 3,
        onStats: (s) => {
          stats = s;
        },
      },
    );
    expect([4, 6]).toContain(winner);
    expect(stats!.jobs).toBe(5);
    expect(stats!.fulfilled + stats!.rejected + stats!.cancelled).toBe(5);
    expect(stats!.rejected).toBe(1);
    // The other worker task may have finished in the same instant as the winner: then it
    // is reported fulfilled, not cancelled. The function and the last job never end.
    expect(stats!.fulfilled).toBeGreaterThanOrEqual(1);
    expect(stats!.cancelled).toBeGreaterThanOrEqual(2);
  });

  it('spawn reports each failed job exactly once', async () => {
    const errors: TaskError[] = [];
    const runner = createRunner({ ...options, onError: (e) => errors.push(e as TaskError) });
    runner.spawn(mixedJobs(), { retries: 1 });
    await runner.idle();
    expect(errors.map((e) => e.job).sort((a, b) => Number(a) - Number(b))).toEqual([
      1, 3, 5, 6, 7, 9,
    ]);
  });
});
