// onProgress: done / failed / in flight / total / rate, throttled, with a final report
// that accounts for every job.
import { describe, expect, it } from 'vitest';
import { defineTask, type Progress } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { trackRunners } from './helpers/runners.js';

const failIfOdd = defineTask<number, number>(
  new URL('./fixtures/chunk-tasks.mjs', import.meta.url),
  'failIfOdd',
);

const createRunner = trackRunners();

describe.each(executors)('progress on $name', ({ options }) => {
  it('reports the whole call at the end, for all()', async () => {
    const runner = createRunner(options);
    const reports: Progress[] = [];
    await runner.all(
      failIfOdd,
      Array.from({ length: 1000 }, (_, i) => i),
      {
        policy: 'settle',
        onProgress: (p) => reports.push(p),
      },
    );
    const last = reports.at(-1)!;
    expect(last).toMatchObject({ done: 500, failed: 500, inFlight: 0, total: 1000 });
    expect(last.rate).toBeGreaterThan(0);
    // Throttled: far fewer reports than jobs, and counts never go backwards.
    expect(reports.length).toBeLessThan(1000);
    for (let i = 1; i < reports.length; i++) {
      expect(reports[i]!.done).toBeGreaterThanOrEqual(reports[i - 1]!.done);
    }
  });

  it('reports a stream of unknown length without a total', async () => {
    const runner = createRunner(options);
    function* evens(): Generator<number> {
      for (let i = 0; i < 200; i++) yield 2 * i;
    }
    let last: Progress | undefined;
    await runner.map(failIfOdd, evens(), { onProgress: (p) => (last = p) }).toArray();
    expect(last).toMatchObject({ done: 200, failed: 0, inFlight: 0, total: undefined });
  });
});
