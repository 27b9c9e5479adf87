// Every runner a test creates is destroyed after it, so no test leaves threads running,
// even one that failed while tasks were still held by a latch.
import { afterEach, expect } from 'vitest';
import { createRunner, type Runner, type RunnerOptions } from '../../src/index.js';
import { tasks } from './tasks.js';

export function trackRunners(): (options?: RunnerOptions) => Runner {
  const open = new Set<Runner>();
  afterEach(async () => {
    const all = [...open];
    open.clear();
    await Promise.all(all.map((runner) => runner.destroy()));
  });
  return (options) => {
    const runner = createRunner(options);
    open.add(runner);
    return runner;
  };
}

/**
 * Returns once every thread of `runner` has started and loaded the fixture module (a
 * barrier that all threads must reach together), so a short timeout in a test measures
 * the task, not a worker's start-up.
 */
export async function warm(runner: Runner): Promise<void> {
  const sab = new SharedArrayBuffer(4);
  await runner.all(
    tasks.barrier,
    Array.from({ length: runner.threads }, () => ({ sab, parties: runner.threads })),
  );
}

/**
 * Asserts that a spinner (`spinForever`, counting in `counter[0]`) no longer runs and that
 * every thread is free: the counter stays still over a round trip of other work, and a
 * barrier that needs every thread at once completes on distinct threads.
 */
export async function expectStoppedAndFree(runner: Runner, counter: Int32Array): Promise<void> {
  const before = Atomics.load(counter, 0);
  await expect(runner.all(tasks.double, [1, 2, 3])).resolves.toEqual([2, 4, 6]);
  expect(Atomics.load(counter, 0)).toBe(before);
  const sab = new SharedArrayBuffer(4);
  const ids = await runner.all(
    tasks.barrier,
    Array.from({ length: runner.threads }, () => ({ sab, parties: runner.threads })),
  );
  expect(new Set(ids).size).toBe(runner.threads);
}
