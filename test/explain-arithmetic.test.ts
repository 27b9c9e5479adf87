// explain(): work, span, bound, speedup and critical path, computed on attempts with
// hand-set times (no clock involved).
import { describe, expect, it } from 'vitest';
import { type AttemptRecord, CallTrace, explain } from '../src/index.js';

/** Attempts run back to back from t = 1000 ms, each `ms` long. */
function attempts(list: [job: string | number, ms: number, attempt?: number][]): AttemptRecord[] {
  let t = 1000;
  return list.map(([job, ms, attempt = 1]) => {
    const start = t;
    t += ms;
    return { job, attempt, queued: start, start, end: t, thread: 1, status: 'fulfilled' };
  });
}

const diamond = new Map<string, string[]>([
  ['a', []],
  ['b', ['a']],
  ['c', ['a']],
  ['d', ['b', 'c']],
]);

describe('explain', () => {
  it('a diamond: span is the heaviest path, the bound its max with work / threads', () => {
    const e = explain({
      attempts: attempts([
        ['a', 10],
        ['b', 30],
        ['c', 20],
        ['d', 5],
      ]),
      deps: diamond,
      wallMs: 50,
      threads: 2,
    });
    expect(e).toMatchObject({
      jobs: 4,
      attempts: 4,
      workMs: 65,
      spanMs: 45,
      boundMs: 45,
      limitedBy: 'span',
      wallMs: 50,
      overheadMs: 5,
      speedup: 1.3,
      efficiency: 0.65,
      sequentialMs: undefined,
      measuredSpeedup: undefined,
    });
    expect(e.maxSpeedup).toBeCloseTo(65 / 45);
    expect(e.parallelism).toBeCloseTo(65 / 45);
    expect(e.criticalPath).toEqual([
      { job: 'a', ms: 10 },
      { job: 'b', ms: 30 },
      { job: 'd', ms: 5 },
    ]);
  });

  it('counts every attempt of a job on its path; nodes that never ran add nothing', () => {
    const e = explain({
      attempts: attempts([
        ['a', 10],
        ['c', 5, 1],
        ['c', 40, 2],
        ['b', 30],
      ]),
      deps: new Map([...diamond, ['e', ['d']]]),
      wallMs: 100,
      threads: 4,
    });
    expect(e.workMs).toBe(85);
    expect(e.spanMs).toBe(55);
    // d and e never ran (skipped): the path ends where the work does.
    expect(e.criticalPath.map((s) => s.job)).toEqual(['a', 'c']);
    expect(e.criticalPath[1]).toEqual({ job: 'c', ms: 45 });
  });

  it('independent jobs: the span is the longest job; many threads are bound by work', () => {
    const input = {
      attempts: attempts([
        [0, 10],
        [1, 30],
        [2, 20],
        [3, 20],
      ]),
      wallMs: 40,
      threads: 2,
    };
    const e = explain(input);
    expect(e).toMatchObject({ workMs: 80, spanMs: 30, boundMs: 40, limitedBy: 'threads' });
    expect(e.criticalPath).toEqual([{ job: 1, ms: 30 }]);
    expect(e.speedup).toBe(2);
    expect(e.efficiency).toBe(1);
    expect(explain(input, { threads: 8 })).toMatchObject({ boundMs: 30, limitedBy: 'span' });
    expect(explain(input, { sequentialMs: 100 })).toMatchObject({
      measuredSpeedup: 2.5,
      workGrowth: 0.8,
    });
  });

  it('nothing ran: zeros, not NaN', () => {
    const e = explain({ attempts: [], wallMs: 0, threads: 4 });
    expect(e).toMatchObject({ workMs: 0, spanMs: 0, boundMs: 0, speedup: 0, criticalPath: [] });
  });

  it('a CallTrace built by hand explains and summarises itself', () => {
    const trace = new CallTrace({
      kind: 'graph',
      started: 1000,
      ended: 1050,
      threads: 2,
      attempts: attempts([
        ['a', 10],
        ['b', 30],
        ['c', 20],
        ['d', 5],
      ]),
      deps: diamond,
    });
    expect(trace.wallMs).toBe(50);
    expect(trace.explain()).toMatchObject({ spanMs: 45, workMs: 65 });
    const summary = trace.summary({ sequentialMs: 65 });
    expect(summary).toContain('a (10.0 ms) → b (30.0 ms) → d (5.0 ms)');
    expect(summary).toContain('1.30x');
  });

  it('idle: where the worker threads waited, a mean over them, adding up to what the bound left', () => {
    // From t = 1000: thread 1 starts at 1001, runs 10 ms, waits 2, runs 10 (ends 1023);
    // thread 2 starts at 1002, runs 5 (ends 1007); thread 3 runs nothing; the call ends 1025.
    // A main-thread job does not count; an attempt of no known thread (stopped while it
    // ran) ran on a worker all the same: a thread of its own.
    const at = (job: number, thread: number, start: number, end: number): AttemptRecord => ({
      job,
      attempt: 1,
      queued: 1000,
      start,
      end,
      thread,
      status: 'fulfilled',
    });
    const list = [
      at(0, 1, 1001, 1006),
      at(1, 1, 1006, 1011),
      at(2, 2, 1002, 1007),
      at(3, 1, 1013, 1023),
    ];
    const e = explain({ attempts: list, wallMs: 25, threads: 3, started: 1000 });
    expect(e.idle).toBeDefined();
    const { beforeMs, betweenMs, endMs, afterMs } = e.idle!;
    expect(beforeMs).toBeCloseTo((1 + 2) / 3);
    expect(betweenMs).toBeCloseTo(2 / 3);
    expect(endMs).toBeCloseTo((0 + 16 + 23) / 3);
    expect(afterMs).toBeCloseTo(2);
    expect(beforeMs + betweenMs + endMs + afterMs).toBeCloseTo(e.wallMs - e.workMs / 3);

    const withMain = [...list, at(5, 0, 1000, 1001)];
    expect(explain({ attempts: withMain, wallMs: 25, threads: 3, started: 1000 }).idle).toEqual(
      e.idle,
    );
    // Thread 3's time is now that attempt's, which ends at 1024, the last.
    const stopped = explain({
      attempts: [...withMain, at(4, -1, 1000, 1024)],
      wallMs: 25,
      threads: 3,
      started: 1000,
    }).idle!;
    expect(stopped.beforeMs).toBeCloseTo((1 + 2 + 0) / 3);
    expect(stopped.betweenMs).toBeCloseTo(2 / 3);
    expect(stopped.endMs).toBeCloseTo((1 + 17 + 0) / 3);
    expect(stopped.afterMs).toBeCloseTo(1);

    // Unknown without the call's start, or without any attempt on a worker.
    expect(explain({ attempts: list, wallMs: 25, threads: 3 }).idle).toBeUndefined();
    const mainOnly = [at(0, 0, 1000, 1010)];
    expect(explain({ attempts: mainOnly, wallMs: 10, threads: 1, started: 1000 }).idle).toBe(
      undefined,
    );

    const summary = new CallTrace({
      kind: 'map',
      started: 1000,
      ended: 1025,
      threads: 3,
      attempts: list,
    }).summary();
    expect(summary).toContain(
      'idle        a thread, on average: 1.0 ms before its first job, 0.7 ms between jobs, 13.0 ms at the end while others ran, 2.0 ms after the last',
    );
    // Of those 13.0 ms, 10 - 25 / 3 = 1.7 the critical path (job 3, 10 ms) imposes: the
    // bound's, not time lost.
    expect(summary).toContain(
      'most of it to threads idle at the end while others finished their last jobs (11.3 ms a thread)',
    );
    // One job of 100 ms on two threads: the other thread's wait at the end is the
    // bound's; of the 1 ms lost, handing over the result is most.
    const spanBound = new CallTrace({
      kind: 'map',
      started: 1000,
      ended: 1101,
      threads: 2,
      attempts: [at(0, 1, 1000, 1100), at(1, 2, 1000, 1001)],
    }).summary();
    expect(spanBound).toContain('49.5 ms at the end while others ran');
    expect(spanBound).toContain('most of it to handing over the last results (1.0 ms a thread)');
  });

  it('idle: a trace of a million attempts explains too', () => {
    const many: AttemptRecord[] = [];
    for (let i = 0; i < 1_000_000; i++) {
      const thread = 1 + (i % 2);
      const start = 1000 + Math.floor(i / 2);
      many.push({
        job: i,
        attempt: 1,
        queued: 1000,
        start,
        end: start + 1,
        thread,
        status: 'fulfilled',
      });
    }
    const e = explain({ attempts: many, wallMs: 500_001, threads: 2, started: 1000 });
    expect(e.idle).toEqual({ beforeMs: 0, betweenMs: 0, endMs: 0, afterMs: 1 });
  });

  it('validates its options', () => {
    const input = { attempts: [], wallMs: 1, threads: 1 };
    expect(() => explain(input, { threads: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => explain(input, { sequentialMs: '5' as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => explain(input, { sequentialMs: 0 })).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_ARG_VALUE',
        message: expect.stringContaining('sequentialMs'),
      }),
    );
  });

  it.each<[string, unknown, string, string]>([
    ['no input', undefined, 'ERR_INVALID_ARG_TYPE', '`input`'],
    ['null', null, 'ERR_INVALID_ARG_TYPE', 'a CallTrace'],
    ['no attempts', { wallMs: 1, threads: 1 }, 'ERR_INVALID_ARG_TYPE', 'input.attempts'],
    [
      'a bad attempt',
      { attempts: [5], wallMs: 1, threads: 1 },
      'ERR_INVALID_ARG_TYPE',
      'input.attempts[0]',
    ],
    [
      'wallMs as a string',
      { attempts: [], wallMs: '12', threads: 1 },
      'ERR_INVALID_ARG_TYPE',
      'input.wallMs',
    ],
    [
      '0 threads',
      { attempts: [], wallMs: 1, threads: 0 },
      'ERR_INVALID_ARG_VALUE',
      'input.threads',
    ],
    [
      'deps as a record',
      { attempts: [], wallMs: 1, threads: 1, deps: {} },
      'ERR_INVALID_ARG_TYPE',
      'input.deps',
    ],
  ])('names what is wrong with its input: %s', (_, input, code, named) => {
    expect(() => explain(input as never)).toThrow(
      expect.objectContaining({ code, message: expect.stringContaining(named) }),
    );
  });
});
