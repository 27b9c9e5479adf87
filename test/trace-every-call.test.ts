// onTrace is called once, when the call ends, by every kind of call: run, all, any,
// spawn, map and graph, with one record per attempt.
import { describe, expect, it } from 'vitest';
import { type CallTrace, job } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { double, flaky } from './helpers/graph-tasks.js';
import { trackRunners } from './helpers/runners.js';

const createRunner = trackRunners();

describe.each(executors)('onTrace on $name', ({ options }) => {
  it('reports each call once, with its kind and attempts', async () => {
    const runner = createRunner(options);
    const traces: CallTrace[] = [];
    const onTrace = (trace: CallTrace) => traces.push(trace);
    await runner.run(double, 1, { onTrace });
    await runner.all(double, [1, 2, 3], { onTrace });
    await runner.any([job(flaky, { succeedOn: 2 }), async () => 'main'], { onTrace });
    await runner.map(double, [1, 2, 3, 4], { onTrace }).toArray();
    await runner.graph({ a: { task: double, input: 1 }, b: { run: () => 2 } }, { onTrace });
    runner.spawn(double, [5, 6], { onTrace });
    await runner.idle();
    expect(traces.map((t) => t.kind)).toEqual(['run', 'all', 'any', 'map', 'graph', 'spawn']);
    expect(traces.map((t) => t.attempts.length)).toEqual([
      1,
      3,
      traces[2]!.attempts.length,
      4,
      2,
      2,
    ]);
    for (const trace of traces) {
      expect(trace.threads).toBe(runner.threads);
      expect(trace.ended).toBeGreaterThanOrEqual(trace.started);
      for (const a of trace.attempts) {
        expect(a.queued).toBeLessThanOrEqual(a.start);
        expect(a.start).toBeLessThanOrEqual(a.end);
      }
    }
    expect(traces[4]!.deps).toEqual(
      new Map([
        ['a', []],
        ['b', []],
      ]),
    );
  });
});
