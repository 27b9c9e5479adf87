// A node starts only once its dependencies have ended, and independent nodes run at the
// same time: two branches that wait for each other at a barrier both finish.
import { describe, expect, it } from 'vitest';
import type { CallTrace, Executor, GraphNodes, TaskResponse } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { barrier, mark } from './helpers/graph-tasks.js';
import { cells, marks } from './helpers/latches.js';
import { trackRunners } from './helpers/runners.js';
import { tasks } from './helpers/tasks.js';

const createRunner = trackRunners();

describe.each(executors)('graph start order on $name', ({ options }) => {
  it('starts each node after every one of its dependencies ended', async () => {
    const runner = createRunner(options);
    const { sab, cells: order } = cells(16);
    let trace: CallTrace | undefined;
    await runner.graph(
      {
        a: { task: mark, input: { sab, id: 1 } },
        b: { task: mark, input: { sab, id: 2 }, deps: ['a'] },
        c: { task: mark, input: { sab, id: 3 }, deps: ['a'] },
        d: { task: mark, input: { sab, id: 4 }, deps: ['b', 'c'] },
        e: { task: mark, input: { sab, id: 5 }, deps: ['d'] },
      },
      { onTrace: (t) => (trace = t) },
    );
    const seen = marks(order);
    expect(seen).toHaveLength(5);
    const at = (id: number) => seen.indexOf(id);
    expect(at(1)).toBe(0);
    expect(at(4)).toBeGreaterThan(Math.max(at(2), at(3)));
    expect(at(5)).toBe(4);
    // The same from the recorded attempts: no node started before its dependencies ended.
    const attempt = (job: string) => trace!.attempts.find((a) => a.job === job)!;
    for (const [node, deps] of trace!.deps!) {
      for (const dep of deps) expect(attempt(node).start).toBeGreaterThanOrEqual(attempt(dep).end);
    }
  });
});

describe('graph start order on threads: overlap', () => {
  it('runs independent branches at the same time', async () => {
    const runner = createRunner({ threads: 2 });
    const { sab } = cells(1);
    // Each branch waits at a barrier for the other: this ends only if both run at once.
    const result = await runner.graph({
      left: { task: barrier, input: { sab, parties: 2 } },
      right: { task: barrier, input: { sab, parties: 2 } },
      join: { run: (d) => [d.left, d.right], deps: ['left', 'right'] },
    });
    expect(new Set(result.join as number[]).size).toBe(2);
  });
});

describe('graph start order: many ready task nodes', () => {
  it('starts a call for only a few of them per thread; function nodes start at once', async () => {
    // Two threads whose attempts wait until the test answers them.
    const waiting: Array<() => void> = [];
    const executor: Executor = {
      kind: 'held',
      parallelism: 2,
      execute: (request) =>
        new Promise<TaskResponse>((resolve) => {
          waiting.push(() =>
            resolve({
              values: [...request.inputs],
              failures: undefined,
              times: new Float64Array(2 * request.inputs.length),
              thread: 1,
            }),
          );
        }),
      close: async () => {},
      destroy: async () => {},
    };
    const runner = createRunner({ executor });
    let functionsStarted = 0;
    const nodes: Record<string, GraphNodes[string]> = {};
    for (let i = 0; i < 100; i++) nodes[`t${i}`] = { task: tasks.echo, input: i };
    for (let i = 0; i < 10; i++) {
      nodes[`f${i}`] = {
        run: async () => {
          functionsStarted++;
          return i;
        },
      };
    }
    const done = runner.graph(nodes);
    await new Promise((resolve) => setImmediate(resolve));
    // Two run, two more wait for a thread (2 per thread), the other 96 wait unstarted.
    expect(waiting).toHaveLength(2);
    expect(runner.queued).toBe(2);
    expect(functionsStarted).toBe(10);
    while (waiting.length > 0 || runner.queued > 0) {
      waiting.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    const result = (await done) as Record<string, unknown>;
    expect(Object.keys(result)).toHaveLength(110);
    expect(result.t99).toBe(99);
  });
});
