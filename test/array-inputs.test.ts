// An array of inputs is read by index, without an iterator result per input, unless it
// replaced its iterator: then, as any iterable, through that iterator.
import { describe, expect, it } from 'vitest';
import { cells, nextTurn } from './helpers/latches.js';
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
    const sparse = [1, , 3] as number[]; // (typed as the task takes: the hole is the point)
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

  it('are all read as all() starts, even where its chunks take them later', async () => {
    const runner = createRunner({ threads: 1 });
    const inputs = Array.from({ length: 20 }, (_, i) => i);
    const pending = runner.all(tasks.double, inputs, { chunkSize: 2 });
    inputs.fill(100);
    inputs.length = 3;
    expect(await pending).toEqual(Array.from({ length: 20 }, (_, i) => 2 * i));
  });

  it('lose no job of a map when the array is cut short after the map read it', async () => {
    const runner = createRunner({ threads: 1 });
    const gate = cells(2);
    const inputs: unknown[] = Array.from({ length: 10 }, (_, value) => ({ sab: gate.sab, value }));
    const results = runner.map(tasks.after, inputs as never[], { chunkSize: 1, policy: 'settle' });
    const collected = results.toArray();
    // The first item waits on the gate in the thread; those read after it wait for it.
    while (runner.queued < 2) await nextTurn();
    const read = 1 + runner.queued;
    inputs.length = 1;
    Atomics.store(gate.cells, 0, 1);
    Atomics.notify(gate.cells, 0);
    const outcomes = await collected;
    // The slots cut off are read as undefined, as holes are: those jobs fail, none is lost,
    // and the map reads no further.
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : o.status))).toEqual([
      0,
      ...Array(read - 1).fill('rejected'),
    ]);
  });

  it('give a map as many results as it read inputs, when the array changes length under it', async () => {
    const runner = createRunner({ threads: 1 });
    // A window of 2: the map reads two inputs, then more as results come.
    const shrinking = Array.from({ length: 10 }, (_, i) => i);
    const fewer = runner.map(tasks.double, shrinking, { window: 2, chunkSize: 1 }).toArray();
    shrinking.length = 4;
    const growing = [0, 1, 2];
    const more = runner.map(tasks.double, growing, { window: 2, chunkSize: 1 }).toArray();
    growing.push(3, 4);
    expect(await fewer).toEqual([0, 2, 4, 6]);
    expect(await more).toEqual([0, 2, 4, 6, 8]);
    const unordered = Array.from({ length: 10 }, (_, i) => i);
    const some = runner
      .map(tasks.double, unordered, { window: 2, chunkSize: 1, ordered: false })
      .toArray();
    unordered.length = 4;
    expect((await some).sort((a, b) => a - b)).toEqual([0, 2, 4, 6]);
  });
});
