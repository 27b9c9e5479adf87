// Retries are per job attempt: a count, or { attempts, backoff, retryOn }.
import { describe, expect, it } from 'vitest';
import { type CallStats, defineTask, job, type TaskError } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { trackRunners } from './helpers/runners.js';
import { fixtures, tasks } from './helpers/tasks.js';

const createRunner = trackRunners();
const noWait = { initial: 0, factor: 2, max: 0 };

describe.each(executors)('retries on $name', ({ options }) => {
  it('passes the attempt number to the task and retries until it succeeds', async () => {
    const runner = createRunner(options);
    await expect(runner.run(tasks.flaky, { succeedOn: 3 }, { retries: 2 })).resolves.toBe(3);
  });

  it('gives up after `retries` more attempts, with the last failure and the attempts made', async () => {
    const runner = createRunner(options);
    const error = await runner
      .run(tasks.flaky, { succeedOn: 4 }, { retries: 2 })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_TASK_FAILED', attempts: 3, job: 0 });
    // The error is the last attempt's.
    expect((error as Error).cause).toMatchObject({ code: 'EFLAKY', message: 'attempt 3 failed' });
  });

  it('does not retry by default', async () => {
    const runner = createRunner(options);
    await expect(runner.run(tasks.flaky, { succeedOn: 2 })).rejects.toMatchObject({
      code: 'ERR_TASK_FAILED',
      attempts: 1,
    });
  });

  it('accepts { attempts, backoff } and reports attempts per job', async () => {
    const runner = createRunner(options);
    let stats: CallStats | undefined;
    const report = await runner.all(
      [
        job(tasks.flaky, { succeedOn: 2 }),
        job(tasks.flaky, { succeedOn: 1 }),
        job(tasks.flaky, { succeedOn: 9 }),
      ],
      {
        policy: 'settle',
        retries: { attempts: 3, backoff: noWait },
        onStats: (s) => {
          stats = s;
        },
      },
    );
    expect(report.results.map((r) => [r.status, r.attempts])).toEqual([
      ['fulfilled', 2],
      ['fulfilled', 1],
      ['rejected', 4],
    ]);
    // Attempts count every retry.
    expect(stats?.attempts).toBe(2 + 1 + 4);
    expect(report.stats.attempts).toBe(7);
  });

  it('waits with a tiny backoff and still succeeds', async () => {
    const runner = createRunner(options);
    await expect(
      runner.run(
        tasks.flaky,
        { succeedOn: 3 },
        { retries: { attempts: 2, backoff: { initial: 1, factor: 1, max: 1 } } },
      ),
    ).resolves.toBe(3);
  });

  it('asks retryOn with the error and the attempt number; false stops retrying', async () => {
    const runner = createRunner(options);
    const asked: [string, number][] = [];
    const error = await runner
      .run(
        tasks.flaky,
        { succeedOn: 10 },
        {
          retries: {
            attempts: 5,
            backoff: noWait,
            retryOn: (e: TaskError, attempt: number) => {
              asked.push([e.code, attempt]);
              return attempt < 2;
            },
          },
        },
      )
      .catch((e: unknown) => e);
    expect(asked).toEqual([
      ['ERR_TASK_FAILED', 1],
      ['ERR_TASK_FAILED', 2],
    ]);
    expect(error).toMatchObject({ code: 'ERR_TASK_FAILED', attempts: 2 });
  });

  it('retryOn returning false keeps the first failure', async () => {
    const runner = createRunner(options);
    await expect(
      runner.run(tasks.flaky, { succeedOn: 2 }, { retries: { attempts: 3, retryOn: () => false } }),
    ).rejects.toMatchObject({ code: 'ERR_TASK_FAILED', attempts: 1 });
  });

  it('does not retry ERR_TASK_NOT_FOUND by default', async () => {
    const runner = createRunner(options);
    const missing = defineTask(fixtures, 'noSuchExport');
    await expect(runner.run(missing, 1, { retries: 3 })).rejects.toMatchObject({
      code: 'ERR_TASK_NOT_FOUND',
      attempts: 1,
    });
  });

  it('retries ERR_TASK_NOT_FOUND when retryOn says so', async () => {
    const runner = createRunner(options);
    const missing = defineTask(fixtures, 'noSuchExport');
    await expect(
      runner.run(missing, 1, { retries: { attempts: 2, retryOn: () => true } }),
    ).rejects.toMatchObject({ code: 'ERR_TASK_NOT_FOUND', attempts: 3 });
  });

  it('retries main-thread functions too, telling them the attempt', async () => {
    const runner = createRunner(options);
    const seen: number[] = [];
    const [value] = await runner.all(
      [
        ({ attempt }: { attempt: number }) => {
          seen.push(attempt);
          if (attempt < 3) throw new Error(`attempt ${attempt}`);
          return attempt;
        },
      ],
      { retries: 2 },
    );
    expect(value).toBe(3);
    expect(seen).toEqual([1, 2, 3]);
  });
});
