// The call methods' types: any() of an array of jobs gives one of their outputs; options
// held in variables of the exported option types are accepted (their policy is known only
// when the call runs), while literal policies keep their precise result types.
// Checked by tsc (npm test type-checks the tests); the runtime part is a smoke run.
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type CallOptions,
  createRunner,
  type DataCloneError,
  type Deps,
  defineTask,
  type GraphOptions,
  type IdleTime,
  type JobOutcome,
  job,
  type MapOptions,
  type RunOptions,
  type SettledReport,
  type Task,
  type TaskFailedError,
  type TaskNotFoundError,
  type WorkerExitedError,
} from '../src/index.js';
import { double, label } from './helpers/graph-tasks.js';

describe('call types', () => {
  it('take inputs of the type the task takes, not a wider one, and no string as inputs', async () => {
    await using runner = createRunner({ threads: 0 });
    const maybe = 2 as number | undefined;
    const wide: unknown = 3;
    const mixed: (number | string)[] = [1];
    // Each of these compiled (the input type was widened to fit) and ran wrong: NaN, 0.
    // @ts-expect-error: undefined is no input of double
    const wrong = () => runner.run(double, maybe);
    // @ts-expect-error: unknown is no input of double
    const wrong2 = () => runner.run(double, wide);
    // @ts-expect-error: a string is no input of double
    const wrong3 = () => runner.all(double, mixed);
    // @ts-expect-error: undefined is no input of double
    const wrong4 = () => job(double, maybe);
    const length = defineTask<string, number>(new URL(import.meta.url), 'x');
    // @ts-expect-error: a string is no list of inputs (its characters would each be one)
    const wrong5 = () => runner.all(length, 'abc');
    // @ts-expect-error: nor for a stream
    const wrong6 = () => runner.map(length, 'abc');
    // @ts-expect-error: double needs its input
    const wrong7 = () => runner.run(double);
    expect([wrong, wrong2, wrong3, wrong4, wrong5, wrong6, wrong7]).toHaveLength(7);
    // Narrower ones still compile: a task of numbers or strings over numbers.
    const either = defineTask<number | string, string>(new URL(import.meta.url), 'x');
    expectTypeOf(() => runner.all(either, [1, 2])).returns.toEqualTypeOf<Promise<string[]>>();
    expect(await runner.all(double, [1, 2])).toEqual([2, 4]);
  });

  it('run a task whose input may be undefined with none', async () => {
    await using runner = createRunner({ threads: 0 });
    const fixtures = new URL('./fixtures/tasks.mjs', import.meta.url);
    const whoAmI = defineTask<void, number>(fixtures, 'whoAmI');
    const echo = defineTask<string | undefined, string | undefined>(fixtures, 'echo');
    const attempt = defineTask<unknown, number>(fixtures, 'attempt');
    // (Each needed run(task, undefined).)
    expectTypeOf(runner.run(whoAmI)).toEqualTypeOf<Promise<number>>();
    expect(await runner.run(whoAmI)).toBe(0); // the calling thread: threads: 0
    expect(await runner.run(echo)).toBeUndefined();
    expect(await runner.run(echo, 'x', { retries: 1 })).toBe('x');
    expect(await runner.run(attempt)).toBe(1);
    expect(await runner.run(attempt, undefined, { retries: 0 })).toBe(1);
    // A job too.
    expect(await runner.all([job(whoAmI), job(echo, 'y')])).toEqual([0, 'y']);
    // @ts-expect-error: double needs its input
    const noInput = () => job(double);
    // A generic wrapper passes its input and options on.
    const runIt = <T, R>(task: Task<T, R>, input: T, options?: RunOptions) =>
      runner.run(task, input, options);
    expect(await runIt(echo, 'z')).toBe('z');
    // @ts-expect-error: options come after the input, which may not be skipped
    const wrong = () => runner.run(echo, { retries: 1 });
    expect([wrong, noInput]).toHaveLength(2);
  });

  it('type the cause of a job error as an Error', () => {
    expectTypeOf<TaskFailedError['cause']>().toEqualTypeOf<Error>();
    expectTypeOf<WorkerExitedError['cause']>().toEqualTypeOf<Error>();
    expectTypeOf<DataCloneError['cause']>().toEqualTypeOf<Error>();
    expectTypeOf<TaskNotFoundError['cause']>().toEqualTypeOf<Error>();
  });

  it('take a task whose declared output is a promise as giving what it resolves to', () => {
    const later = defineTask<number, Promise<number>>(new URL(import.meta.url), 'x');
    expectTypeOf(later).toEqualTypeOf<Task<number, number>>();
  });

  it('types any() of an array of jobs as one of their outputs', async () => {
    await using runner = createRunner({ threads: 0 });
    const either = await runner.any([job(double, 1), job(label, { name: 'x', from: [] })]);
    expectTypeOf(either).toEqualTypeOf<number | string>();
    const numbers = await runner.any([1, 2, 3].map((n) => job(double, n)));
    expectTypeOf(numbers).toEqualTypeOf<number>();
    const functions = await runner.any([() => 1, async () => 'two']);
    expectTypeOf(functions).toEqualTypeOf<number | string>();
    expect(typeof numbers).toBe('number');
  });

  it('takes options held in variables of the exported types', async () => {
    await using runner = createRunner({ threads: 0 });
    const call: CallOptions = { concurrency: 2 };
    const all = await runner.all(double, [1, 2], call);
    expectTypeOf(all).toEqualTypeOf<number[] | SettledReport<JobOutcome<number>[]>>();
    expect(all).toEqual([2, 4]);
    const map: MapOptions = { ordered: false };
    const mapped = await runner.map(double, [1, 2], map).toArray();
    expectTypeOf(mapped).toEqualTypeOf<(number | JobOutcome<number>)[]>();
    const graphOptions: GraphOptions = {};
    const graph = await runner.graph({ n: { task: double, input: 2 } }, graphOptions);
    expect(graph).toEqual({ n: 4 });
    // Literal policies keep their precise types.
    expectTypeOf(await runner.all(double, [1])).toEqualTypeOf<number[]>();
    expectTypeOf(await runner.all(double, [1], { policy: 'settle' })).toEqualTypeOf<
      SettledReport<JobOutcome<number>[]>
    >();
  });

  it('exports the types that explain() and traces use', () => {
    expectTypeOf<IdleTime['afterMs']>().toEqualTypeOf<number>();
    expectTypeOf<Deps>().toEqualTypeOf<ReadonlyMap<string, readonly string[]>>();
  });
  it('takes options whose values may be undefined (exactOptionalPropertyTypes), as left out', async () => {
    await using runner = createRunner({ threads: undefined, maxQueue: undefined });
    const given: { timeout?: number | undefined; chunk?: number | undefined } = {};
    const options = {
      timeout: given.timeout,
      policy: undefined,
      retries: { attempts: 1, backoff: { initial: given.timeout } },
    } as const;
    expectTypeOf(await runner.all([() => 1], options)).toEqualTypeOf<[number]>();
    const values = await runner
      .map(double, [1, 2], { chunkSize: given.chunk, window: given.chunk, ordered: undefined })
      .toArray();
    expect(values).toEqual([2, 4]);
    const nodes = { a: { task: double, input: 1, deps: undefined, cost: given.chunk } } as const;
    expect(await runner.graph(nodes, { order: undefined, policy: undefined })).toEqual({ a: 2 });
  });
});
