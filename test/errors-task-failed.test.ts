// ERR_TASK_FAILED: the task threw or rejected. Its `cause` is the original error rebuilt
// across the thread boundary: name, message, stack, code and own enumerable properties,
// and its own cause chain.
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { defineTask, FanoutError, job, TaskError, TaskFailedError } from '../src/index.js';
import { type SerializedError, serializeError } from '../src/protocol.js';
import { executors } from './helpers/executors.js';
import { trackRunners } from './helpers/runners.js';
import { fixtures, tasks } from './helpers/tasks.js';

const createRunner = trackRunners();

async function failure(promise: Promise<unknown>): Promise<TaskFailedError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TaskFailedError);
  return error as TaskFailedError;
}

describe.each(executors)('ERR_TASK_FAILED on $name', ({ options }) => {
  it('is a TaskError with a code, the job and the task', async () => {
    const runner = createRunner(options);
    const error = await failure(runner.all(tasks.failIfOdd, [0, 1]));
    expect(error).toBeInstanceOf(TaskError);
    expect(error).toBeInstanceOf(FanoutError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('TaskFailedError');
    expect(error.code).toBe('ERR_TASK_FAILED');
    expect(error.job).toBe(1);
    expect(error.task).toEqual({ module: fixtures.href, export: 'failIfOdd' });
    expect(error.attempts).toBe(1);
    // The message names the task.
    expect(error.message).toContain('failIfOdd');
  });

  it('names the job by its key for a record input', async () => {
    const runner = createRunner(options);
    const error = await failure(
      runner.all({ fine: job(tasks.double, 1), broken: job(tasks.failIfOdd, 3) }),
    );
    expect(error.job).toBe('broken');
    expect(error.message).toContain('broken');
  });

  it('rebuilds the cause: name, message, stack, code and own properties', async () => {
    const runner = createRunner(options);
    const error = await failure(
      runner.run(tasks.failWith, { message: 'out of range', field: 'age' }),
    );
    const cause = error.cause as Error & Record<string, unknown>;
    expect(cause).toBeInstanceOf(Error);
    expect(cause.name).toBe('ValidationError');
    expect(cause.message).toBe('out of range');
    expect(cause.code).toBe('E_VALIDATION');
    expect(cause.field).toBe('age');
    expect(cause.details).toEqual({ min: 1, max: 10 });
    expect(cause.stack).toContain('failWith');
    expect(cause.stack).toContain('tasks.mjs');
    // The error's own stack is its first line only: frames of the scheduler, which is all
    // it could show, cost a capture per failed job (most of what one cost the main thread).
    expect(error.stack).toBe(`TaskFailedError: ${error.message}`);
  });

  it('keeps a cause chain, with built-in error classes rebuilt as such', async () => {
    const runner = createRunner(options);
    const error = await failure(runner.run(tasks.failWithCause, null));
    const outer = error.cause as Error;
    expect(outer.message).toBe('outer');
    const inner = outer.cause as TypeError & { code?: unknown };
    expect(inner).toBeInstanceOf(TypeError);
    expect(inner.message).toBe('inner');
    expect(inner.code).toBe('E_INNER');
  });

  it('rebuilds an error of another realm (a vm context) as an Error, not a non-Error value', async () => {
    const runner = createRunner(options);
    const [inWorker, inFunction] = await Promise.all([
      failure(runner.run(tasks.throwFromVm, null)),
      failure(runner.all([() => vm.runInNewContext('null.x')])),
    ]);
    for (const error of [inWorker, inFunction]) {
      const cause = error.cause as TypeError & { thrown?: unknown };
      expect(cause).toBeInstanceOf(TypeError);
      expect(cause.name).toBe('TypeError');
      expect(cause.message).toBe("Cannot read properties of null (reading 'x')");
      // (Its own stack, as vm decorates it: the line of the script first.)
      expect(cause.stack).toContain("TypeError: Cannot read properties of null (reading 'x')\n");
      expect('thrown' in cause).toBe(false);
      expect(error.message).toContain("failed: Cannot read properties of null (reading 'x')");
    }
    expect(inWorker.cause).toHaveProperty('stack', expect.stringContaining('throwFromVm'));
  });

  it('rebuilds an AggregateError with its errors, each rebuilt as a cause is', async () => {
    const runner = createRunner(options);
    const error = await failure(runner.run(tasks.throwAggregate, null));
    const cause = error.cause as AggregateError;
    expect(cause).toBeInstanceOf(AggregateError);
    expect(cause.name).toBe('AggregateError');
    expect(cause.message).toBe('both');
    expect(cause.stack).toContain('throwAggregate');
    expect(Object.keys(cause)).toEqual([]); // (`errors` stays its own, not enumerable)
    expect(cause.errors).toHaveLength(2);
    const [a, b] = cause.errors as [Error, TypeError & { code?: unknown }];
    expect(a).toBeInstanceOf(Error);
    expect(a.message).toBe('a');
    expect(b).toBeInstanceOf(TypeError);
    expect(b.message).toBe('b');
    expect(b.code).toBe('E_B');
    expect(b.stack).toContain('throwAggregate');
  });

  it("keeps Promise.any's errors in a main-thread function job, non-Error values too", async () => {
    const runner = createRunner(options);
    const error = await failure(
      runner.all([() => Promise.any([Promise.reject(new RangeError('r')), Promise.reject(7)])]),
    );
    const cause = error.cause as AggregateError;
    expect(cause).toBeInstanceOf(AggregateError);
    expect(cause.errors[0]).toBeInstanceOf(RangeError);
    expect(cause.errors[0]).toHaveProperty('message', 'r');
    expect(cause.errors[1]).toMatchObject({ name: 'NonErrorThrown', thrown: 7 });
  });

  it('stops an AggregateError that holds itself at the depth of causes', async () => {
    const runner = createRunner(options);
    const error = await failure(
      runner.all([
        () => {
          const self = new AggregateError([], 'self');
          self.errors.push(self);
          throw self;
        },
      ]),
    );
    let levels = 0;
    for (let e = error.cause as { errors?: unknown[] }; e.errors; e = e.errors[0] as never) {
      levels++;
    }
    expect(levels).toBe(8);
  });

  it('keeps what clones of an own property that does not, describing the rest', async () => {
    const runner = createRunner(options);
    const error = await failure(runner.run(tasks.throwWithUncloneableProp, null));
    expect((error.cause as { config?: unknown }).config).toEqual({
      url: 'http://x/y',
      headers: { a: '1' },
      transformRequest: ['[Function: transform]'],
      tag: 'Symbol(t)',
    });
  });

  it('keeps what clones of a thrown non-Error value, 4 levels deep', async () => {
    const runner = createRunner(options);
    const thrown = { message: 'plain', retry() {}, deep: { a: { b: { c: { d() {} } } } } };
    const error = await failure(
      runner.all([
        () => {
          throw thrown;
        },
      ]),
    );
    expect((error.cause as { thrown?: unknown }).thrown).toEqual({
      message: 'plain',
      retry: '[Function: retry]',
      deep: { a: { b: { c: '[Object]' } } },
    });
  });

  it('reports a thrown string as ERR_TASK_FAILED with the value available', async () => {
    const runner = createRunner(options);
    const error = await failure(runner.run(tasks.throwString, null));
    expect(error.cause).toBeInstanceOf(Error);
    expect((error.cause as { thrown?: unknown }).thrown).toBe('plain string');
  });

  it('reports a thrown null as ERR_TASK_FAILED with the value available', async () => {
    const runner = createRunner(options);
    const error = await failure(runner.run(tasks.throwNull, null));
    const cause = error.cause as { thrown?: unknown };
    expect('thrown' in cause).toBe(true);
    expect(cause.thrown).toBeNull();
  });

  it('reports a rejected promise like a throw', async () => {
    const runner = createRunner(options);
    const error = await failure(
      runner.all([
        async () => {
          throw Object.assign(new Error('async failure'), { code: 'E_ASYNC', extra: [1, 2] });
        },
      ]),
    );
    expect(error.job).toBe(0);
    expect(error.task).toBeUndefined();
    expect(error.cause).toMatchObject({ message: 'async failure', code: 'E_ASYNC', extra: [1, 2] });
  });

  it('reports a main-thread function throwing a non-Error value', async () => {
    const runner = createRunner(options);
    const error = await failure(
      runner.all([
        () => {
          throw 42;
        },
      ]),
    );
    expect((error.cause as { thrown?: unknown }).thrown).toBe(42);
  });

  it('reports a module that throws while loading as ERR_TASK_FAILED', async () => {
    const runner = createRunner(options);
    const broken = defineTask(new URL('./fixtures/throws-on-load.mjs', import.meta.url), 'x');
    const error = await failure(runner.run(broken, 1));
    expect((error.cause as Error).message).toBe('broken at load time');
    expect(error.message).toContain('failed: its module threw while loading: broken at load time');
  });

  it('records the attempts made when retries were used', async () => {
    const runner = createRunner(options);
    const error = await failure(runner.run(tasks.failIfOdd, 1, { retries: 2 }));
    expect(error.attempts).toBe(3);
  });
});

describe('the stack of a job error', () => {
  const oneLine = (error: Error) => expect(error.stack).toBe(`${error.name}: ${error.message}`);

  it('is its first line for errors of the queue and of a graph input function too', async () => {
    const runner = createRunner({ threads: 1, maxQueue: 0 });
    const report = await runner.all(tasks.double, [1, 2, 3], { policy: 'settle' });
    const full = report.results.find((o) => o.status === 'rejected');
    expect(full?.status === 'rejected' && full.reason.code).toBe('ERR_QUEUE_FULL');
    if (full?.status === 'rejected') oneLine(full.reason);
    const graph = await runner.graph(
      {
        a: {
          task: tasks.double,
          input: () => {
            throw new Error('bad input');
          },
        },
      },
      { policy: 'settle' },
    );
    const a = graph.results.a;
    expect(a.status === 'rejected' && a.reason.code).toBe('ERR_TASK_FAILED');
    if (a.status === 'rejected') oneLine(a.reason);
  });

  it("leaves the caller's code that reads a thrown error its own stacks", async () => {
    const runner = createRunner({ threads: 1 });
    // A getter of the thrown error runs as the error is read (to rebuild it as the cause).
    const thrown = Object.defineProperty(new Error('boom'), 'frames', {
      enumerable: true,
      get: () => (new Error('probe').stack ?? '').split('\n').length - 1,
    });
    const error = await failure(
      runner.all([
        async () => {
          throw thrown;
        },
      ]),
    );
    expect((error.cause as Error & { frames?: number }).frames).toBeGreaterThan(0);
    expect(Error.stackTraceLimit).toBeGreaterThan(0);
  });
});

describe('AggregateErrors crossing threads', () => {
  const count = (error: SerializedError): number =>
    1 + (error.errors ?? []).reduce((n, e) => n + count(e), 0);

  it('carry at most 100 errors, all levels together, and say how many they left out', () => {
    const wide = new AggregateError(
      Array.from({ length: 1000 }, (_, i) => new Error(`e${i}`)),
      'wide',
    );
    const flat = serializeError(wide);
    expect(flat.errors).toHaveLength(101);
    expect(flat.errors![99]!.message).toBe('e99');
    expect(flat.errors![100]!.message).toBe('900 more errors left out');
    // Errors that hold each other multiplied at each level (6^8 here) before the budget.
    const loop = new AggregateError([], 'loop');
    loop.errors.push(loop, loop, loop, loop, loop, loop);
    expect(count(serializeError(loop))).toBeLessThan(200);
  });
});
