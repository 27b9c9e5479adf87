// Settle: a failed node's dependents are skipped, theirs too, down every level; each
// skip names the dependency that did not fulfil and the failed node it goes back to.
// Nodes that do not depend on the failure still run.
import { describe, expect, it } from 'vitest';
import { executors } from './helpers/executors.js';
import { double, fail } from './helpers/graph-tasks.js';
import { trackRunners } from './helpers/runners.js';

const createRunner = trackRunners();

describe.each(executors)('graph skips on $name', ({ options }) => {
  it('skips every node downstream of a failure, naming the failed upstream node', async () => {
    const runner = createRunner(options);
    let ran: string[] = [];
    const note = (name: string) => () => {
      ran = [...ran, name];
      return name;
    };
    const report = await runner.graph(
      {
        ok: { task: double, input: 1 },
        bad: { task: fail, input: 'broken', deps: ['ok'] },
        level1: { run: note('level1'), deps: ['bad'] },
        level2: { run: note('level2'), deps: ['level1', 'ok'] },
        level3: { run: note('level3'), deps: ['level2'] },
        aside: { run: note('aside'), deps: ['ok'] },
      },
      { policy: 'settle' },
    );
    expect(ran).toEqual(['aside']);
    const { results } = report;
    expect(results.ok).toMatchObject({ status: 'fulfilled', value: 2 });
    expect(results.bad.status).toBe('rejected');
    if (results.bad.status === 'rejected') {
      expect(results.bad.reason).toMatchObject({ code: 'ERR_TASK_FAILED', job: 'bad' });
    }
    expect(results.level1).toEqual({
      status: 'skipped',
      dependency: 'bad',
      failed: 'bad',
      reason: 'dependency "bad" failed',
    });
    expect(results.level2).toMatchObject({
      status: 'skipped',
      dependency: 'level1',
      failed: 'bad',
    });
    expect(results.level3).toMatchObject({
      status: 'skipped',
      dependency: 'level2',
      failed: 'bad',
    });
    expect(results.aside).toMatchObject({ status: 'fulfilled', value: 'aside' });
    expect(report.counts).toEqual({ total: 6, fulfilled: 2, rejected: 1, skipped: 3 });
    // Skipped nodes never became jobs.
    expect(report.stats).toMatchObject({ jobs: 3, fulfilled: 2, rejected: 1 });
  });

  it('a skip is a state apart from a failure: skipped nodes are never rejected', async () => {
    const runner = createRunner(options);
    const report = await runner.graph(
      {
        a: { run: () => Promise.reject(new Error('a failed')) },
        b: { run: () => 1, deps: ['a'] },
      },
      { policy: 'settle' },
    );
    expect(report.results.a.status).toBe('rejected');
    expect(report.results.b.status).toBe('skipped');
    expect('reason' in report.results.b && typeof report.results.b.reason).toBe('string');
  });
});
