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

  it('validates its options', () => {
    const input = { attempts: [], wallMs: 1, threads: 1 };
    expect(() => explain(input, { threads: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => explain(input, { sequentialMs: '5' as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
  });
});
