// Retries, per-attempt timeouts, an AbortSignal, a concurrency cap and the call's
// callbacks work for a graph as they do for all(): per node.
import { describe, expect, it } from 'vitest';
import type { CallStats, Progress } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { barrier, double, flaky, spinForever } from './helpers/graph-tasks.js';
import { cells, nextTurn } from './helpers/latches.js';
import { trackRunners } from './helpers/runners.js';

const createRunner = trackRunners();

describe.each(executors)('graph call options on $name', ({ options }) => {
  it('retries each node', async () => {
    const runner = createRunner(options);
    const report = await runner.graph(
      {
        a: { task: flaky, input: { succeedOn: 3 } },
        b: { task: flaky, input: { succeedOn: 2 }, deps: ['a'] },
        c: { task: flaky, input: { succeedOn: 5 }, deps: ['a'] },
      },
      { policy: 'settle', retries: 2 },
    );
    expect(report.results.a).toMatchObject({ status: 'fulfilled', value: 3, attempts: 3 });
    expect(report.results.b).toMatchObject({ status: 'fulfilled', value: 2, attempts: 2 });
    expect(report.results.c).toMatchObject({ status: 'rejected', attempts: 3 });
    expect(report.stats.attempts).toBe(8);
  });

  it('rejects with the signal’s reason, before start or while running', async () => {
    const runner = createRunner(options);
    const reason = new Error('enough');
    let ran = false;
    await expect(
      runner.graph({ a: { run: () => (ran = true) } }, { signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
    expect(ran).toBe(false);
    const controller = new AbortController();
    const settled = runner.graph(
      {
        a: { task: double, input: 1 },
        wait: {
          run: (_, { signal }) => {
            controller.abort(reason);
            return new Promise((_, reject) => signal.addEventListener('abort', reject));
          },
          deps: ['a'],
        },
        never: { run: () => (ran = true), deps: ['wait'] },
      },
      { signal: controller.signal, policy: 'settle' },
    );
    await expect(settled).rejects.toBe(reason);
    expect(ran).toBe(false);
  });

  it('caps the nodes running at once', async () => {
    const runner = createRunner(options);
    let running = 0;
    let most = 0;
    const node = {
      run: async () => {
        most = Math.max(most, ++running);
        await nextTurn();
        running--;
      },
    };
    const nodes = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`n${i}`, node]));
    await runner.graph(nodes, { concurrency: 3 });
    expect(most).toBe(3);
    most = 0;
    await runner.graph(nodes);
    expect(most).toBe(12);
  });

  it('reports stats and progress over the nodes', async () => {
    const runner = createRunner(options);
    let stats: CallStats | undefined;
    const progress: Progress[] = [];
    await runner.graph(
      {
        a: { task: double, input: 1 },
        b: { run: () => Promise.reject(new Error('no')), deps: ['a'] },
        c: { run: () => 1, deps: ['b'] },
      },
      { policy: 'settle', onStats: (s) => (stats = s), onProgress: (p) => progress.push(p) },
    );
    expect(stats).toMatchObject({ jobs: 2, fulfilled: 1, rejected: 1, cancelled: 0, attempts: 2 });
    expect(progress.at(-1)).toMatchObject({ done: 1, failed: 2, inFlight: 0, total: 3 });
  });

  it('counts the nodes a stopped graph never started as failed in its last progress', async () => {
    const runner = createRunner(options);
    const controller = new AbortController();
    const progress: Progress[] = [];
    const graph = runner.graph(
      {
        a: {
          run: () => {
            controller.abort(new Error('enough'));
            return 1;
          },
        },
        b: { run: () => 2, deps: ['a'] },
        c: { task: double, input: 3, deps: ['b'] },
      },
      { signal: controller.signal, onProgress: (p) => progress.push(p) },
    );
    await expect(graph).rejects.toThrow('enough');
    expect(progress.at(-1)).toMatchObject({ done: 1, failed: 2, inFlight: 0, total: 3 });
  });

  it.each<[string, () => number, string]>([
    [
      'throws',
      () => {
        throw new TypeError('bad input');
      },
      'bad input',
    ],
    // (Rejecting: before, an unhandled rejection that ended the process.)
    [
      'returns a promise',
      (async () => {
        throw new Error('async input failed');
      }) as unknown as () => number,
      'returned a promise',
    ],
  ])('fails a node whose input function %s, without an attempt', async (_, input, said) => {
    const runner = createRunner(options);
    const report = await runner.graph(
      {
        a: { task: double, input: 1 },
        b: { task: double, input, deps: ['a'] },
        c: { run: () => 1, deps: ['b'] },
      },
      { policy: 'settle' },
    );
    expect(report.results.b).toMatchObject({
      status: 'rejected',
      attempts: 0,
      reason: { code: 'ERR_TASK_FAILED', job: 'b', cause: { name: 'TypeError' } },
    });
    const { reason } = report.results.b as { reason: Error };
    expect((reason.cause as Error).message).toContain(said);
    expect(report.results.c).toMatchObject({ status: 'skipped', failed: 'b' });
  });
});

describe('graph call options on threads: timeouts', () => {
  it('stops a node that runs past its timeout; the rest go on', async () => {
    const runner = createRunner({ threads: 2 });
    const { sab } = cells(2);
    const report = await runner.graph(
      {
        stuck: { task: spinForever, input: { sab } },
        after: { run: () => 1, deps: ['stuck'] },
        other: { task: double, input: 2 },
      },
      { policy: 'settle', timeout: 200 },
    );
    expect(report.results.stuck).toMatchObject({
      status: 'rejected',
      reason: { code: 'ERR_TASK_TIMEOUT', job: 'stuck' },
    });
    expect(report.results.after).toMatchObject({ status: 'skipped', failed: 'stuck' });
    expect(report.results.other).toMatchObject({ status: 'fulfilled', value: 4 });
    // Both threads are free again.
    const { sab: meet } = cells(1);
    const ids = await runner.all(barrier, [
      { sab: meet, parties: 2 },
      { sab: meet, parties: 2 },
    ]);
    expect(new Set(ids).size).toBe(2);
  });
});
