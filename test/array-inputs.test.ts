// An array of inputs is read by index, without an iterator result per input, unless it
// replaced its iterator: then, as any iterable, through that iterator.
import { describe, expect, it } from 'vitest';
import { trackRunners } from './helpers/runners.js';
import { tasks } from './helpers/tasks.js';

const createRunner = trackRunners();

/** [1, 2, 3], whose iterator gives 10 and 20 instead. */
function ownIterator(): number[] {
  const inputs = [1, 2, 3];
  inputs[Symbol.iterator] = function* () {
    yield 10;
    yield 20;
  } as unknown as () => ArrayIterator<number>;
  return inputs;
}

describe('arrays of inputs', () => {
  it('go through their own iterator when they replaced it', async () => {
    const runner = createRunner({ threads: 1 });
    expect(await runner.map(tasks.double, ownIterator()).toArray()).toEqual([20, 40]);
    expect(await runner.all(tasks.double, ownIterator())).toEqual([20, 40]);
  });

  it('read holes as undefined, as their iterator does', async () => {
    const runner = createRunner({ threads: 1 });
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    const sparse = [1, , 3];
    const expected = [...sparse].map((x) => (x === undefined ? null : x * 2));
    const shown = (values: unknown[]) => values.map((v) => (Number.isNaN(v) ? null : v));
    expect(shown(await runner.map(tasks.double, sparse).toArray())).toEqual(expected);
    expect(shown(await runner.all(tasks.double, sparse))).toEqual(expected);
  });

  it('are read as far as they reach when the call reads them', async () => {
    const runner = createRunner({ threads: 1 });
    const inputs = [1, 2];
    const pending = runner.all(tasks.double, inputs);
    inputs.push(3); // after all() returned: its inputs were read already
    expect(await pending).toEqual([2, 4]);
  });
});
