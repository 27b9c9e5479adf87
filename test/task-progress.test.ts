// A task reports progress from inside a long computation through ctx.progress (a comlink
// channel); the call receives it in onTaskProgress with the job's key.
import { describe, expect, it } from 'vitest';
import { defineTask } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { trackRunners } from './helpers/runners.js';

const countWithProgress = defineTask<{ steps: number; every: number }, number>(
  new URL('./fixtures/buffer-tasks.mjs', import.meta.url),
  'countWithProgress',
);

const createRunner = trackRunners();

describe.each(executors)('ctx.progress on $name', ({ options }) => {
  it('delivers every report, tagged with its job, before the call resolves', async () => {
    const runner = createRunner(options);
    const reports: { job: unknown; value: unknown }[] = [];
    const out = await runner.all(
      countWithProgress,
      [
        { steps: 100, every: 25 },
        { steps: 40, every: 10 },
      ],
      { chunkSize: 2, onTaskProgress: (job, value) => reports.push({ job, value }) },
    );
    expect(out).toEqual([5050, 820]);
    // A chunk's outcomes are handed over only after its reports.
    expect(reports.filter((r) => r.job === 0).map((r) => r.value)).toEqual([
      { step: 25 },
      { step: 50 },
      { step: 75 },
      { step: 100 },
    ]);
    expect(reports.filter((r) => r.job === 1)).toHaveLength(4);
  });

  it('is a no-op for a task that reports when nobody listens', async () => {
    const runner = createRunner(options);
    expect(await runner.run(countWithProgress, { steps: 10, every: 1 })).toBe(55);
  });
});
