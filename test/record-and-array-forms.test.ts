// The argument forms of run / all: one task over any iterable of inputs, an array of jobs
// (worker tasks beside main-thread async functions), or a record of jobs; results come
// back in the same shape.
import { describe, expect, it } from 'vitest';
import { defineTask, type FunctionJobContext, job } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { trackRunners } from './helpers/runners.js';
import { fixtures, tasks } from './helpers/tasks.js';

const createRunner = trackRunners();

describe.each(executors)('record and array forms on $name', ({ options }) => {
  it('run(task, input) resolves with the output', async () => {
    const runner = createRunner(options);
    await expect(runner.run(tasks.double, 21)).resolves.toBe(42);
    await expect(runner.run(tasks.doubleAsync, 4)).resolves.toBe(8);
    await expect(runner.run(defineTask<number, string>(fixtures), 1)).resolves.toBe('default:1');
  });

  it('all(task, array) keeps input order', async () => {
    const runner = createRunner(options);
    const inputs = Array.from({ length: 20 }, (_, i) => i);
    await expect(runner.all(tasks.double, inputs)).resolves.toEqual(inputs.map((i) => i * 2));
  });

  it('all(task, iterable) takes a Set and a generator', async () => {
    const runner = createRunner(options);
    await expect(runner.all(tasks.double, new Set([3, 1, 2]))).resolves.toEqual([6, 2, 4]);
    function* count(n: number) {
      for (let i = 0; i < n; i++) yield i;
    }
    await expect(runner.all(tasks.double, count(4))).resolves.toEqual([0, 2, 4, 6]);
    await expect(runner.all(tasks.double, new Map([['a', 1]]).values())).resolves.toEqual([2]);
  });

  it('all([jobs]) runs worker tasks beside main-thread async functions', async () => {
    const runner = createRunner(options);
    const results = await runner.all([
      job(tasks.double, 5),
      async () => 'from the main thread',
      job(tasks.echo, { nested: [1, 2] }),
      () => 7,
    ]);
    expect(results).toEqual([10, 'from the main thread', { nested: [1, 2] }, 7]);
  });

  it('all({ key: job }) resolves with a record keyed the same', async () => {
    const runner = createRunner(options);
    const results = await runner.all({
      a: job(tasks.double, 1),
      b: async () => 'b',
      c: job(tasks.echo, 'c'),
    });
    expect(results).toEqual({ a: 2, b: 'b', c: 'c' });
    expect(Object.keys(results)).toEqual(['a', 'b', 'c']);
  });

  it('keeps a job keyed __proto__ as a key of its own, in values and in a settle report', async () => {
    const runner = createRunner(options);
    // A record made from data (JSON.parse) can own a __proto__ key.
    const given = JSON.parse('{"a":1,"__proto__":2}') as Record<string, number>;
    const jobs = Object.fromEntries(
      Object.keys(given).map((k) => [k, job(tasks.double, given[k]!)]),
    );
    const values = (await runner.all(jobs)) as Record<string, number>;
    expect(Object.keys(values)).toEqual(['a', '__proto__']);
    expect(Object.getOwnPropertyDescriptor(values, '__proto__')?.value).toBe(4);
    expect(Object.getPrototypeOf(values)).toBe(Object.prototype);
    const report = await runner.all(jobs, { policy: 'settle' });
    expect(Object.keys(report.results)).toEqual(['a', '__proto__']);
    expect(Object.getOwnPropertyDescriptor(report.results, '__proto__')?.value).toMatchObject({
      status: 'fulfilled',
      value: 4,
    });
    expect(Object.getPrototypeOf(report.results)).toBe(Object.prototype);
  });

  it('gives main-thread functions a context with a signal and the attempt', async () => {
    const runner = createRunner(options);
    let seen: FunctionJobContext | undefined;
    await runner.all([
      (ctx: FunctionJobContext) => {
        seen = ctx;
      },
    ]);
    expect(seen?.attempt).toBe(1);
    expect(seen?.signal).toBeInstanceOf(AbortSignal);
    expect(seen?.signal.aborted).toBe(false);
  });

  it('gives worker tasks the attempt number', async () => {
    const runner = createRunner(options);
    await expect(runner.all(tasks.attempt, [null, null])).resolves.toEqual([1, 1]);
  });

  it('gives worker tasks a frozen ctx: first attempts, retries, and where progress is heard', async () => {
    const runner = createRunner(options);
    const nulls = Array.from({ length: 100 }, () => null);
    const first = { frozen: true, attempt: 1 };
    await expect(runner.all(tasks.ctxOf, nulls)).resolves.toEqual(nulls.map(() => first));
    await expect(runner.all(tasks.ctxOf, [{ succeedOn: 3 }], { retries: 2 })).resolves.toEqual([
      { frozen: true, attempt: 3 },
    ]);
    await expect(runner.all(tasks.ctxOf, [null], { onTaskProgress: () => {} })).resolves.toEqual([
      first,
    ]);
    // (A task's module is strict code: writing to a frozen object throws.)
    await expect(runner.all(tasks.writeCtx, [null, null])).rejects.toMatchObject({
      code: 'ERR_TASK_FAILED',
      cause: { name: 'TypeError' },
    });
  });

  it('resolves empty inputs with an empty result of the same shape', async () => {
    const runner = createRunner(options);
    await expect(runner.all(tasks.double, [])).resolves.toEqual([]);
    await expect(runner.all(tasks.double, new Set<number>())).resolves.toEqual([]);
    await expect(runner.all([])).resolves.toEqual([]);
    await expect(runner.all({})).resolves.toEqual({});
  });

  it('runs the same job object given twice, once per entry', async () => {
    const runner = createRunner(options);
    const twice = job(tasks.double, 3);
    await expect(runner.all([twice, twice])).resolves.toEqual([6, 6]);
  });

  it('treats an array of inputs as data, not jobs, in the task form', async () => {
    const runner = createRunner(options);
    await expect(runner.all(tasks.echo, [[1, 2], { a: 1 }])).resolves.toEqual([[1, 2], { a: 1 }]);
  });
});
