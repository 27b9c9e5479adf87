// onTrace's toChromeTrace() is Chrome trace event JSON: a track per thread (named by
// metadata events) and one complete ("X") event per task attempt, retries included, with
// ts and dur in microseconds from the call's start.
import { describe, expect, it } from 'vitest';
import type { CallTrace, ChromeTraceEvent } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { double, flaky, spinForever } from './helpers/graph-tasks.js';
import { cells } from './helpers/latches.js';
import { trackRunners } from './helpers/runners.js';

const createRunner = trackRunners();

/** Parses the trace as a file would hold it and checks the event format. */
function checkedEvents(trace: CallTrace): ChromeTraceEvent[] {
  const parsed = JSON.parse(JSON.stringify(trace.toChromeTrace()));
  expect(parsed.displayTimeUnit).toBe('ms');
  expect(Array.isArray(parsed.traceEvents)).toBe(true);
  const events = parsed.traceEvents as ChromeTraceEvent[];
  for (const e of events) {
    expect(typeof e.name).toBe('string');
    expect(['X', 'M']).toContain(e.ph);
    expect(Number.isInteger(e.pid) && Number.isInteger(e.tid)).toBe(true);
    expect(e.ts).toBeGreaterThanOrEqual(0);
    if (e.ph === 'X') expect(e.dur).toBeGreaterThanOrEqual(0);
  }
  // Every track that holds an attempt has a name.
  const named = new Set(events.filter((e) => e.name === 'thread_name').map((e) => e.tid));
  for (const e of events) if (e.ph === 'X') expect(named.has(e.tid)).toBe(true);
  return events;
}

const complete = (events: ChromeTraceEvent[]) => events.filter((e) => e.ph === 'X');

describe.each(executors)('Chrome trace on $name', ({ options }) => {
  it('has one complete event per attempt of all(), retries included', async () => {
    const runner = createRunner(options);
    let trace: CallTrace | undefined;
    const inputs = [1, 2, 3, 1, 2, 3].map((succeedOn) => ({ succeedOn }));
    const report = await runner.all(flaky, inputs, {
      policy: 'settle',
      retries: 2,
      chunkSize: 2,
      onTrace: (t) => (trace = t),
    });
    const attempts = report.results.reduce((n, o) => n + o.attempts, 0);
    expect(attempts).toBe(12);
    const events = complete(checkedEvents(trace!));
    expect(events).toHaveLength(attempts);
    expect(trace!.attempts).toHaveLength(attempts);
    const retried = events.filter((e) => (e.args?.attempt as number) > 1);
    expect(retried).toHaveLength(6);
    expect(events.filter((e) => e.cat === 'rejected')).toHaveLength(6);
    // Worker tasks on worker tracks; inline tasks on the main thread.
    const tids = new Set(events.map((e) => e.tid));
    if (options.threads === 0) expect([...tids]).toEqual([0]);
    else expect(tids.has(0)).toBe(false);
  });

  it('has one complete event per node of a graph, main-thread nodes on the main thread', async () => {
    const runner = createRunner(options);
    let trace: CallTrace | undefined;
    await runner.graph(
      {
        a: { task: double, input: 1 },
        b: { run: (d) => d.a, deps: ['a'] },
        c: { task: double, input: 2, deps: ['a'] },
      },
      { onTrace: (t) => (trace = t) },
    );
    const events = complete(checkedEvents(trace!));
    expect(events.map((e) => e.name).sort()).toEqual(['a', 'b', 'c']);
    const b = events.find((e) => e.name === 'b')!;
    expect(b.tid).toBe(0);
    expect(events.find((e) => e.name === 'a')!.args).toMatchObject({ task: 'double', job: 'a' });
  });
});

describe('Chrome trace on threads: stopped attempts', () => {
  it('puts an attempt stopped with its worker on a track of its own', async () => {
    const runner = createRunner({ threads: 2 });
    let trace: CallTrace | undefined;
    const { sab } = cells(2);
    await runner.all(spinForever, [{ sab }], {
      policy: 'settle',
      timeout: 100,
      onTrace: (t) => (trace = t),
    });
    expect(trace!.attempts).toMatchObject([{ thread: -1, code: 'ERR_TASK_TIMEOUT' }]);
    const events = checkedEvents(trace!);
    const [attempt] = complete(events);
    const track = events.find((e) => e.name === 'thread_name' && e.tid === attempt!.tid);
    expect(track?.args?.name).toMatch(/unknown/);
    expect(attempt!.tid).toBeGreaterThan(0);
  });
});
