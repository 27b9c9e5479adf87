// A consumer that takes results one by one from a full window does not turn each result
// it takes into a read of one input and a chunk of one item: reading resumes once it has
// made room for a chunk's worth.
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
const inputs = Array.from({ length: 2_000 }, (_, i) => i);

describe.each(executors)('a one-by-one consumer on $name', ({ options }) => {
  it('still gets results sent in chunks of about a quarter window', async () => {
    const runner = createRunner(options);
    const window = 64;
    let trace: CallTrace | undefined;
    const out: number[] = [];
    const stream = runner.map(double, inputs, {
      window,
      onTrace: (t) => {
        trace = t;
      },
    });
    for await (const value of stream) {
      out.push(value);
      // The consumer does some work of its own between results.
      for (let i = 0; i < 5; i++) await Promise.resolve();
    }
    expect(out).toEqual(inputs.map((x) => 2 * x));
    const sizes = chunkSizes(trace!);
    const mean = inputs.length / sizes.length;
    expect(mean).toBeGreaterThanOrEqual(window / 8);
  });
});
