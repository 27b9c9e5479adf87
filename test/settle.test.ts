// all(..., { policy: 'settle' }) runs every job to its end and resolves with a report;
// it never rejects because of a job.
import { describe, expect, it } from 'vitest';
import { type JobOutcome, job, TaskFailedError } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { trackRunners } from './helpers/runners.js';
import { tasks } from './helpers/tasks.js';

const createRunner = trackRunners();

function expectTiming(outcome: JobOutcome): void {
  const { timing } = outcome;
  expect(timing.runMs).toBeGreaterThanOrEqual(0);
  expect(timing.waitMs).toBeGreaterThanOrEqual(0);
  expect(timing.queued).toBeTypeOf('number');
  expect(timing.ended).toBeGreaterThanOrEqual(timing.queued!);
}

describe.each(executors)('settle on $name', ({ options }) => {
  it('resolves with one outcome per input, in input order, when jobs fail', async () => {
    const runner = createRunner(options);
    const report = await runner.all(tasks.failIfOdd, [0, 1, 2, 3, 4], { policy: 'settle' });
    expect(report.results.map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    expect(report.results[0]).toMatchObject({ status: 'fulfilled', value: 0, attempts: 1 });
    expect(report.results[2]).toMatchObject({ status: 'fulfilled', value: 2, attempts: 1 });
    const failed = report.results[1]!;
    expect(failed.status).toBe('rejected');
    if (failed.status === 'rejected') {
      expect(failed.reason).toBeInstanceOf(TaskFailedError);
      expect(failed.reason).toMatchObject({ code: 'ERR_TASK_FAILED', job: 1 });
    }
    for (const outcome of report.results) expectTiming(outcome);
    expect(report.counts).toEqual({ total: 5, fulfilled: 3, rejected: 2 });
    expect(report.stats).toMatchObject({ jobs: 5, fulfilled: 3, rejected: 2, cancelled: 0 });
  });

  it('resolves when every job fails', async () => {
    const runner = createRunner(options);
    const report = await runner.all(tasks.failIfOdd, [1, 3], { policy: 'settle' });
    expect(report.results.every((r) => r.status === 'rejected')).toBe(true);
    expect(report.counts).toEqual({ total: 2, fulfilled: 0, rejected: 2 });
  });

  it('keys a record input’s outcomes the same way, main-thread functions included', async () => {
    const runner = createRunner(options);
    const report = await runner.all(
      {
        ok: job(tasks.double, 21),
        bad: job(tasks.failIfOdd, 7),
        local: async () => 'here',
        localBad: () => {
          throw new RangeError('local failure');
        },
      },
      { policy: 'settle' },
    );
    expect(Object.keys(report.results)).toEqual(['ok', 'bad', 'local', 'localBad']);
    expect(report.results.ok).toMatchObject({ status: 'fulfilled', value: 42 });
    expect(report.results.local).toMatchObject({ status: 'fulfilled', value: 'here' });
    expect(report.results.bad).toMatchObject({
      status: 'rejected',
      reason: { code: 'ERR_TASK_FAILED', job: 'bad' },
    });
    expect(report.results.localBad).toMatchObject({
      status: 'rejected',
      reason: { code: 'ERR_TASK_FAILED', job: 'localBad', task: undefined },
    });
    const localBad = report.results.localBad;
    if (localBad.status === 'rejected') expect(localBad.reason.cause).toBeInstanceOf(RangeError);
    expect(report.counts).toEqual({ total: 4, fulfilled: 2, rejected: 2 });
  });

  it('reports the attempts each job took', async () => {
    const runner = createRunner(options);
    const report = await runner.all(
      [job(tasks.flaky, { succeedOn: 1 }), job(tasks.flaky, { succeedOn: 3 })],
      { policy: 'settle', retries: 2 },
    );
    expect(report.results[0]).toMatchObject({ status: 'fulfilled', value: 1, attempts: 1 });
    expect(report.results[1]).toMatchObject({ status: 'fulfilled', value: 3, attempts: 3 });
    expect(report.stats.attempts).toBe(4);
  });

  it('does not stop the other jobs when one fails', async () => {
    const runner = createRunner(options);
    let ran = 0;
    const report = await runner.all(
      [
        job(tasks.failIfOdd, 1),
        ...Array.from({ length: 4 }, () => async () => {
          ran++;
          return ran;
        }),
      ],
      { policy: 'settle', concurrency: 1 },
    );
    expect(ran).toBe(4);
    expect(report.counts).toEqual({ total: 5, fulfilled: 4, rejected: 1 });
  });

  it('resolves with an empty report for no jobs', async () => {
    const runner = createRunner(options);
    const report = await runner.all(tasks.double, [], { policy: 'settle' });
    expect(report.results).toEqual([]);
    expect(report.counts).toEqual({ total: 0, fulfilled: 0, rejected: 0 });
    const keyed = await runner.all({}, { policy: 'settle' });
    expect(keyed.results).toEqual({});
  });
});
