// `concurrency` caps one call's jobs in flight; other calls have caps of their own.
import { describe, expect, it } from 'vitest';
import { type FunctionJob, job } from '../src/index.js';
import { executors, threads } from './helpers/executors.js';
import { cells, type Deferred, deferred, hasStarted, release, started } from './helpers/latches.js';
import { trackRunners } from './helpers/runners.js';
import { tasks } from './helpers/tasks.js';

const createRunner = trackRunners();

/** Main-thread jobs that each announce their start and wait to be released. */
function gatedJobs(n: number) {
  let active = 0;
  let maxActive = 0;
  const starts: Deferred[] = Array.from({ length: n }, () => deferred());
  const gates: Deferred[] = Array.from({ length: n }, () => deferred());
  const begun = new Set<number>();
  const startedCount = () => begun.size;
  const jobs: FunctionJob<number>[] = gates.map((gate, i) => async () => {
    begun.add(i);
    active++;
    maxActive = Math.max(maxActive, active);
    starts[i]!.resolve();
    await gate.promise;
    active--;
    return i;
  });
  return { jobs, starts, gates, startedCount, max: () => maxActive };
}

describe.each(executors)('concurrency on $name', ({ options }) => {
  it('starts no more than `concurrency` jobs of a call at once', async () => {
    const runner = createRunner(options);
    const g = gatedJobs(5);
    const call = runner.all(g.jobs, { concurrency: 2 });
    await g.starts[0]!.promise;
    await g.starts[1]!.promise;
    // Work elsewhere on the runner goes on; the call's third job still waits.
    await expect(runner.run(tasks.double, 1)).resolves.toBe(2);
    expect(g.startedCount()).toBe(2);
    // Each job that ends lets exactly one more start.
    g.gates[0]!.resolve();
    await g.starts[2]!.promise;
    await expect(runner.run(tasks.double, 1)).resolves.toBe(2);
    expect(g.startedCount()).toBe(3);
    for (const gate of g.gates) gate.resolve();
    await expect(call).resolves.toEqual([0, 1, 2, 3, 4]);
    expect(g.max()).toBe(2);
  });

  it('starts jobs in input order', async () => {
    const runner = createRunner(options);
    const order: number[] = [];
    const jobs = [0, 1, 2, 3].map((i) => async () => {
      order.push(i);
      return i;
    });
    await expect(runner.all(jobs, { concurrency: 1 })).resolves.toEqual([0, 1, 2, 3]);
    expect(order).toEqual([0, 1, 2, 3]);
  });

  it('caps one call only: another call runs beside it', async () => {
    const runner = createRunner(options);
    const a = gatedJobs(2);
    const b = gatedJobs(1);
    const first = runner.all(a.jobs, { concurrency: 1 });
    await a.starts[0]!.promise;
    const second = runner.all(b.jobs, { concurrency: 1 });
    await b.starts[0]!.promise;
    expect(a.startedCount()).toBe(1);
    for (const gate of [...a.gates, ...b.gates]) gate.resolve();
    await expect(first).resolves.toEqual([0, 1]);
    await expect(second).resolves.toEqual([0]);
  });

  it('applies to worker tasks too', async () => {
    const runner = createRunner(options);
    const held = cells(6);
    const call = runner.all(
      [0, 1, 2].map((index) => job(tasks.holdAsync, { sab: held.sab, index, value: index })),
      { concurrency: 1 },
    );
    await started(held.cells, 0);
    // A round trip that needs no thread (the inline executor's only one is held).
    await expect(runner.all([async () => 'local'])).resolves.toEqual(['local']);
    expect(hasStarted(held.cells, 1)).toBe(false);
    release(held.cells, 0);
    await started(held.cells, 1);
    expect(hasStarted(held.cells, 2)).toBe(false);
    release(held.cells, 1);
    release(held.cells, 2);
    await expect(call).resolves.toEqual([0, 1, 2]);
  });

  it('without a cap, main-thread functions all start at once', async () => {
    const runner = createRunner(options);
    const g = gatedJobs(4);
    const call = runner.all(g.jobs, { concurrency: Number.POSITIVE_INFINITY });
    await Promise.all(g.starts.map((s) => s.promise));
    expect(g.max()).toBe(4);
    for (const gate of g.gates) gate.resolve();
    await call;
  });
});

describe('concurrency on threads', () => {
  it('leaves a free thread idle rather than exceed the cap', async () => {
    const runner = createRunner(threads.options);
    const held = cells(4);
    const call = runner.all(
      [0, 1].map((index) => job(tasks.hold, { sab: held.sab, index, value: index })),
      { concurrency: 1 },
    );
    await started(held.cells, 0);
    // The second thread is free (this round trip uses it) but the call may not use it.
    await expect(runner.run(tasks.double, 3)).resolves.toBe(6);
    expect(hasStarted(held.cells, 1)).toBe(false);
    release(held.cells, 0);
    await started(held.cells, 1);
    release(held.cells, 1);
    await expect(call).resolves.toEqual([0, 1]);
  });

  it('with a cap of 2, two tasks do run at the same time', async () => {
    const runner = createRunner(threads.options);
    const gate = cells(1);
    const ids = await runner.all(
      tasks.barrier,
      [0, 1].map(() => ({ sab: gate.sab, parties: 2 })),
      { concurrency: 2 },
    );
    expect(new Set(ids).size).toBe(2);
  });
});

describe.each(executors)('a cap of one on $name, chunk after chunk', ({ options }) => {
  it('keeps input order between worker tasks and function jobs', async () => {
    const runner = createRunner(options);
    const { sab } = cells(1);
    // Even jobs run on the main thread and read how many worker tasks ran before them.
    const seen: number[] = [];
    const jobs = Array.from({ length: 20 }, (_, i) =>
      i % 2 === 1
        ? job(tasks.countOrFail, { sab })
        : async () => {
            seen.push(Atomics.load(new Int32Array(sab), 0));
            return i;
          },
    );
    await runner.all(jobs, { concurrency: 1 });
    expect(seen).toEqual(Array.from({ length: 10 }, (_, k) => k));
  });

  it('runs a retry before the jobs after it', async () => {
    const runner = createRunner(options);
    const sab = new SharedArrayBuffer(4 * 64);
    const inputs = Array.from({ length: 8 }, (_, id) => ({
      sab,
      id,
      failFirst: id === 1 || id === 4,
    }));
    const report = await runner.all(tasks.logAttempt, inputs, {
      concurrency: 1,
      retries: 1,
      policy: 'settle',
    });
    expect(report.counts).toEqual({ total: 8, fulfilled: 8, rejected: 0 });
    const log = new Int32Array(sab);
    expect(Array.from(log.subarray(1, 1 + log[0]!))).toEqual([
      1, 11, 12, 21, 31, 41, 42, 51, 61, 71,
    ]);
  });
});

describe('the reason a stopped call gives its jobs', () => {
  it('is a fresh AbortError for each call, one its jobs can add to', async () => {
    const runner = createRunner({ threads: 0 });
    const reasons: unknown[] = [];
    const stoppedJob: FunctionJob<never> = ({ signal }) =>
      new Promise((_, reject) => {
        signal.addEventListener('abort', () => {
          reasons.push(signal.reason);
          Object.assign(signal.reason as object, { seenBy: 'the job' });
          reject(signal.reason);
        });
      });
    const fail: FunctionJob<never> = async () => {
      throw new Error('first failure');
    };
    for (let call = 0; call < 2; call++) {
      await expect(runner.all([stoppedJob, fail])).rejects.toMatchObject({
        code: 'ERR_TASK_FAILED',
      });
    }
    expect(reasons).toHaveLength(2);
    for (const reason of reasons) {
      expect(reason).toMatchObject({ name: 'AbortError', seenBy: 'the job' });
    }
    expect(reasons[0]).not.toBe(reasons[1]);
  });
});
