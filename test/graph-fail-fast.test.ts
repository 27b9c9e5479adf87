// Fail-fast (the default): the first failure rejects the graph with its TaskError; nodes
// running are stopped (a task spinning forever in a worker included) and the rest never
// start, whatever their `when`.
import { describe, expect, it } from 'vitest';
import { TaskFailedError } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { barrier, double, fail, spinForever } from './helpers/graph-tasks.js';
import { cells, reached } from './helpers/latches.js';
import { trackRunners } from './helpers/runners.js';

const createRunner = trackRunners();

describe.each(executors)('graph fail-fast on $name', ({ options }) => {
  it('rejects with the first TaskError and starts nothing more', async () => {
    const runner = createRunner(options);
    const started: string[] = [];
    const note = (name: string) => () => {
      started.push(name);
      return name;
    };
    let stopped: unknown;
    const error = await runner
      .graph({
        // Runs on the main thread until the graph stops it.
        waiting: {
          run: (_, { signal }) =>
            new Promise((_, reject) =>
              signal.addEventListener('abort', () => {
                stopped = signal.reason;
                reject(signal.reason);
              }),
            ),
        },
        bad: { task: fail, input: 'first failure' },
        afterBad: { run: note('afterBad'), deps: ['bad'] },
        afterWaiting: { run: note('afterWaiting'), deps: ['waiting'] },
        cleanup: { run: note('cleanup'), deps: ['bad', 'waiting'], when: 'all-done' },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskFailedError);
    expect(error).toMatchObject({ code: 'ERR_TASK_FAILED', job: 'bad', attempts: 1 });
    expect((error as Error).cause).toMatchObject({ code: 'E_NODE', message: 'first failure' });
    expect(stopped).toBeDefined();
    expect(started).toEqual([]);
  });
});

describe('graph fail-fast on threads: a task spinning forever', () => {
  it('is stopped, and its thread is free again', async () => {
    const runner = createRunner({ threads: 2 });
    const { sab, cells: counter } = cells(2);
    const error = await runner
      .graph({
        spinner: { task: spinForever, input: { sab } },
        // Fails only once the spinner is surely running.
        gate: { run: () => reached(counter, 1) },
        bad: { task: fail, input: 'stop', deps: ['gate'] },
        never: { task: double, input: 1, deps: ['spinner'] },
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_TASK_FAILED', job: 'bad' });
    // Both threads answer a barrier of two: the spinner's thread was stopped and replaced.
    const { sab: meet } = cells(1);
    const ids = await runner.all(barrier, [
      { sab: meet, parties: 2 },
      { sab: meet, parties: 2 },
    ]);
    expect(new Set(ids).size).toBe(2);
    const spun = Atomics.load(counter, 0);
    await runner.run(double, 1);
    expect(Atomics.load(counter, 0)).toBe(spun);
  });
});
