// Under a window, a chunk is at most a share of it: each thread has room for a chunk
// running and the next one read ahead, so no thread waits for the source to be read.
import { describe, expect, it } from 'vitest';
import { type CallTrace, defineTask } from '../src/index.js';
import { chunkSizes } from './helpers/chunks.js';
import { executors } from './helpers/executors.js';
import { trackRunners } from './helpers/runners.js';

const double = defineTask<number, number>(
  new URL('./fixtures/tasks.mjs', import.meta.url),
  'double',
);
const createRunner = trackRunners();
const inputs = Array.from({ length: 4_000 }, (_, i) => i);

describe.each(executors)('map chunks under a window on $name', ({ options }) => {
  it('never exceed window / (2 x threads), and the results stay complete', async () => {
    const runner = createRunner(options);
    const window = 64;
    const share = window / (2 * runner.threads);
    let trace: CallTrace | undefined;
    const out = await runner
      .map(double, inputs, {
        window,
        onTrace: (t) => {
          trace = t;
        },
      })
      .toArray();
    expect(out).toEqual(inputs.map((x) => 2 * x));
    const sizes = chunkSizes(trace!);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(inputs.length);
    expect(Math.max(...sizes)).toBe(share);
  });
});

describe.each(executors)('map chunks of a fixed size on $name', ({ options }) => {
  it('hold that many items from the first one on (a stream reads that far ahead at once)', async () => {
    const runner = createRunner(options);
    let trace: CallTrace | undefined;
    const out = await runner
      .map(double, inputs.slice(0, 200), {
        chunkSize: 10,
        onTrace: (t) => {
          trace = t;
        },
      })
      .toArray();
    expect(out).toEqual(inputs.slice(0, 200).map((x) => 2 * x));
    expect(chunkSizes(trace!)).toEqual(Array.from({ length: 20 }, () => 10));
  });
});
