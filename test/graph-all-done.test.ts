// A node with `when: 'all-done'` runs once its dependencies have ended, however they
// ended, and receives their outcomes rather than their values.
import { describe, expect, it } from 'vitest';
import type { NodeOutcome } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { double, echo, fail } from './helpers/graph-tasks.js';
import { trackRunners } from './helpers/runners.js';

const createRunner = trackRunners();

describe.each(executors)("graph when: 'all-done' on $name", ({ options }) => {
  // Each node of these chains ends as it starts (it throws at once): the next one starts
  // from inside the end of the one before, which once recursed to a stack overflow.
  it.each([
    [
      'a function that throws at once',
      (i: number) => ({
        run: () => {
          throw new Error(`node ${i}`);
        },
      }),
    ],
    [
      'an input function that throws',
      (i: number) => ({
        task: double,
        input: () => {
          throw new Error(`node ${i}`);
        },
      }),
    ],
  ])('settles a chain of 5000 nodes each with %s', async (_, node) => {
    const runner = createRunner(options);
    const nodes: Record<string, object> = {};
    for (let i = 0; i < 5000; i++) {
      nodes[`n${i}`] = { ...node(i), ...(i > 0 ? { deps: [`n${i - 1}`], when: 'all-done' } : {}) };
    }
    const report = (await runner.graph(nodes as never, { policy: 'settle' })) as {
      counts: Record<string, number>;
      results: Record<string, NodeOutcome>;
    };
    expect(report.counts).toEqual({ total: 5000, fulfilled: 0, rejected: 5000, skipped: 0 });
    expect(report.results.n4999).toMatchObject({
      status: 'rejected',
      reason: { code: 'ERR_TASK_FAILED' },
    });
  });

  it('runs after a failed and a skipped dependency, with their outcomes', async () => {
    const runner = createRunner(options);
    let seen: Record<string, NodeOutcome> | undefined;
    const report = await runner.graph(
      {
        good: { task: double, input: 21 },
        bad: { task: fail, input: 'no' },
        after: { run: () => 'never', deps: ['bad'] },
        cleanup: {
          run: (deps) => {
            seen = { ...deps };
            return Object.values(deps).map((o) => o.status);
          },
          deps: ['good', 'bad', 'after'],
          when: 'all-done',
        },
        // Its own dependents get its value as usual.
        tail: { task: echo, input: (d) => d.cleanup, deps: ['cleanup'] },
      },
      { policy: 'settle' },
    );
    expect(report.results.cleanup).toMatchObject({
      status: 'fulfilled',
      value: ['fulfilled', 'rejected', 'skipped'],
    });
    expect(report.results.tail).toMatchObject({
      status: 'fulfilled',
      value: ['fulfilled', 'rejected', 'skipped'],
    });
    expect(seen?.good).toMatchObject({ status: 'fulfilled', value: 42 });
    expect(seen?.bad).toMatchObject({ status: 'rejected', reason: { code: 'ERR_TASK_FAILED' } });
    expect(seen?.after).toMatchObject({ status: 'skipped', failed: 'bad' });
  });

  it('computes a worker input from the outcomes', async () => {
    const runner = createRunner(options);
    const report = await runner.graph(
      {
        bad: { task: fail, input: 'no' },
        summary: {
          task: echo,
          input: (deps) => (deps.bad?.status === 'rejected' ? 'bad failed' : 'bad ok'),
          deps: ['bad'],
          when: 'all-done',
        },
      },
      { policy: 'settle' },
    );
    expect(report.results.summary).toMatchObject({ status: 'fulfilled', value: 'bad failed' });
  });

  it('waits for every dependency, even after one has failed', async () => {
    const runner = createRunner(options);
    let release: () => void = () => {};
    const slow = new Promise<string>((resolve) => {
      release = () => resolve('slow');
    });
    const report = await runner.graph(
      {
        bad: { run: () => Promise.reject(new Error('fast failure')) },
        slow: { run: () => slow },
        // Lets `slow` end only once `bad` has failed.
        trigger: { run: () => release(), deps: ['bad'], when: 'all-done' },
        join: { run: (deps) => deps.slow?.status, deps: ['bad', 'slow'], when: 'all-done' },
      },
      { policy: 'settle' },
    );
    expect(report.results.join).toMatchObject({ status: 'fulfilled', value: 'fulfilled' });
  });
});
