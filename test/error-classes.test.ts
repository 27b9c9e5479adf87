// One base class, a subclass per failure, each with a stable code; job-level errors say
// which job and which task. ERR_TASK_CANCELLED reaches callers as the `cancelled` count.
import { describe, expect, it } from 'vitest';
import {
  type CallStats,
  DataCloneError,
  FanoutError,
  job,
  QueueFullError,
  RunnerClosedError,
  TaskCancelledError,
  TaskError,
  TaskFailedError,
  TaskNotFoundError,
  TaskTimeoutError,
  WorkerExitedError,
} from '../src/index.js';
import { executors } from './helpers/executors.js';
import { deferred } from './helpers/latches.js';
import { trackRunners } from './helpers/runners.js';
import { tasks } from './helpers/tasks.js';

const createRunner = trackRunners();
const where = { job: 'k', task: { module: 'file:///m.mjs', export: 'f' }, attempts: 2 };
const cause = new Error('cause');

describe('error classes', () => {
  it('a timeout says when the task never started: its thread or its module was not ready', () => {
    expect(new TaskTimeoutError(where, 500).message).toContain('timed out after 500 ms');
    const loading = new TaskTimeoutError(where, 500, 60_512.3);
    expect(loading.timeout).toBe(500);
    expect(loading.message).toContain('before its task was heard to start');
    expect(loading.message).toContain('still loading after 60512 ms');
  });

  it.each([
    ['TaskFailedError', new TaskFailedError(where, cause), 'ERR_TASK_FAILED'],
    ['TaskTimeoutError', new TaskTimeoutError(where, 10), 'ERR_TASK_TIMEOUT'],
    ['TaskCancelledError', new TaskCancelledError(where, 'why'), 'ERR_TASK_CANCELLED'],
    ['WorkerExitedError', new WorkerExitedError(where, cause), 'ERR_WORKER_EXITED'],
    ['DataCloneError', new DataCloneError(where, cause), 'ERR_DATA_CLONE'],
    ['TaskNotFoundError', new TaskNotFoundError(where, cause), 'ERR_TASK_NOT_FOUND'],
    ['QueueFullError', new QueueFullError(where, 3), 'ERR_QUEUE_FULL'],
  ])('%s is a TaskError with its code, job, task and attempts', (name, error, code) => {
    expect(error).toBeInstanceOf(TaskError);
    expect(error).toBeInstanceOf(FanoutError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(error.code).toBe(code);
    expect(error.job).toBe('k');
    expect(error.task).toEqual(where.task);
    expect(error.attempts).toBe(2);
    expect(error.message).toContain('k');
    expect(error.message).toContain('f');
  });

  it('passes the cause through', () => {
    expect(new TaskFailedError(where, cause).cause).toBe(cause);
    expect(new WorkerExitedError(where, cause).cause).toBe(cause);
  });

  it('RunnerClosedError is a FanoutError but not a job error', () => {
    const error = new RunnerClosedError();
    expect(error).toBeInstanceOf(FanoutError);
    expect(error).not.toBeInstanceOf(TaskError);
    expect(error.code).toBe('ERR_RUNNER_CLOSED');
    expect(error.name).toBe('RunnerClosedError');
  });
});

describe.each(executors)('ERR_TASK_CANCELLED on $name', ({ options }) => {
  it('counts jobs stopped or never started by a fail-fast failure as cancelled', async () => {
    const runner = createRunner(options);
    const running = deferred();
    let stats: CallStats | undefined;
    await expect(
      runner.all(
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
          job(tasks.double, 2),
        ],
        {
          concurrency: 2,
          onStats: (s) => {
            stats = s;
          },
        },
      ),
    ).rejects.toMatchObject({ code: 'ERR_TASK_FAILED', job: 1 });
    // The running function and the two queued tasks.
    expect(stats).toMatchObject({ jobs: 4, rejected: 1, cancelled: 3, fulfilled: 0 });
  });

  it('a cancelled job is never retried', async () => {
    const runner = createRunner(options);
    const running = deferred();
    let attemptsOfLoser = 0;
    await expect(
      runner.all(
        [
          () => {
            attemptsOfLoser++;
            running.resolve();
            return new Promise<never>(() => {});
          },
          async () => {
            await running.promise;
            throw new Error('fails');
          },
        ],
        { retries: { attempts: 3, retryOn: () => true } },
      ),
    ).rejects.toMatchObject({ code: 'ERR_TASK_FAILED', attempts: 4 });
    expect(attemptsOfLoser).toBe(1);
  });
});
