// A runner remembers what a task's items cost: the first call of a task starts with
// chunks of one item, a later call of the same task starts near the right size.
import { describe, expect, it } from 'vitest';
import { type CallTrace, defineTask } from '../src/index.js';
import { chunkSizes } from './helpers/chunks.js';
import { executors } from './helpers/executors.js';
import { trackRunners } from './helpers/runners.js';

const double = defineTask<number, number>(
  new URL('./fixtures/tasks.mjs', import.meta.url),
  'double',
);
const echo = defineTask<number, number>(new URL('./fixtures/tasks.mjs', import.meta.url), 'echo');
const createRunner = trackRunners();
const inputs = Array.from({ length: 2_000 }, (_, i) => i);

/** The size of the chunk that started first. */
const firstChunk = (trace: CallTrace) => chunkSizes(trace)[0];

async function traced(run: (onTrace: (t: CallTrace) => void) => Promise<unknown>) {
  let trace: CallTrace | undefined;
  await run((t) => {
    trace = t;
  });
  return trace!;
}

describe.each(executors)('chunk sizes across calls on $name', ({ options }) => {
  it('start at one item, then from what the same task cost before', async () => {
    const runner = createRunner(options);
    const first = await traced((onTrace) => runner.all(double, inputs, { onTrace }));
    expect(firstChunk(first)).toBe(1);
    const second = await traced((onTrace) => runner.all(double, inputs, { onTrace }));
    expect(firstChunk(second)).toBeGreaterThan(1);
    // map() shares the memory with all().
    const third = await traced((onTrace) => runner.map(double, inputs, { onTrace }).toArray());
    expect(firstChunk(third)).toBeGreaterThan(1);
  });

  it('keep costs per task and per runner', async () => {
    const runner = createRunner(options);
    await runner.all(double, inputs);
    const other = await traced((onTrace) => runner.all(echo, inputs, { onTrace }));
    expect(firstChunk(other)).toBe(1);
    const fresh = createRunner(options);
    const again = await traced((onTrace) => fresh.all(double, inputs, { onTrace }));
    expect(firstChunk(again)).toBe(1);
  });
});
