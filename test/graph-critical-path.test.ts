// When more nodes are ready than there are threads, the one with the most cost ahead of
// it (itself and its heaviest chain of dependents) goes first; `order: 'fifo'` takes them
// as they became ready. One thread makes the start order exact.
import { describe, expect, it } from 'vitest';
import { mark } from './helpers/graph-tasks.js';
import { cells, marks } from './helpers/latches.js';
import { trackRunners } from './helpers/runners.js';

const createRunner = trackRunners();

/** Three short independent nodes declared before a chain of three. */
function uneven(sab: SharedArrayBuffer) {
  return {
    s1: { task: mark, input: { sab, id: 1 } },
    s2: { task: mark, input: { sab, id: 2 } },
    s3: { task: mark, input: { sab, id: 3 } },
    c1: { task: mark, input: { sab, id: 11 } },
    c2: { task: mark, input: { sab, id: 12 }, deps: ['c1'] },
    c3: { task: mark, input: { sab, id: 13 }, deps: ['c2'] },
  };
}

describe.each([
  { name: 'one thread', threads: 1 },
  { name: 'inline', threads: 0 },
])('graph priority on $name', ({ threads }) => {
  it('runs the chain first, and a link made ready goes before nodes already waiting', async () => {
    const runner = createRunner({ threads });
    const { sab, cells: order } = cells(16);
    await runner.graph(uneven(sab));
    // c1 has 3 ahead, then c2 (2) beats the waiting shorts (1); c3 ties with them and
    // waits behind them, as it became ready last.
    expect(marks(order)).toEqual([11, 12, 1, 2, 3, 13]);
  });

  it("goes before other calls' waiting jobs, a chain of nodes of cost 0 too", async () => {
    const runner = createRunner({ threads });
    const { sab, cells: order } = cells(16);
    const other = runner.all(
      mark,
      [1, 2, 3, 4, 5].map((id) => ({ sab, id })),
      { chunkSize: 1 },
    );
    const graph = runner.graph({
      c1: { task: mark, input: { sab, id: 11 }, cost: 0 },
      c2: { task: mark, input: { sab, id: 12 }, deps: ['c1'], cost: 0 },
      c3: { task: mark, input: { sab, id: 13 }, deps: ['c2'], cost: 0 },
    });
    await Promise.all([other, graph]);
    expect(marks(order)).toEqual([1, 11, 12, 13, 2, 3, 4, 5]);
  });

  it("takes nodes as they became ready with order: 'fifo'", async () => {
    const runner = createRunner({ threads });
    const { sab, cells: order } = cells(16);
    await runner.graph(uneven(sab), { order: 'fifo' });
    expect(marks(order)).toEqual([1, 2, 3, 11, 12, 13]);
  });

  it('weighs nodes by their cost hints', async () => {
    const runner = createRunner({ threads });
    const { sab, cells: order } = cells(16);
    await runner.graph({
      ...uneven(sab),
      // Heavier alone than the whole chain (3), and declared last.
      big: { task: mark, input: { sab, id: 99 }, cost: 5 },
      // A cheap node in front of an expensive one carries its weight.
      gate: { task: mark, input: { sab, id: 50 }, cost: 0.5 },
      heavy: { task: mark, input: { sab, id: 51 }, cost: 4, deps: ['gate'] },
    });
    const seen = marks(order);
    expect(seen.slice(0, 4)).toEqual([99, 50, 51, 11]);
    expect(seen.indexOf(12)).toBeLessThan(seen.indexOf(1));
  });

  it('caps the nodes in flight with concurrency, still by priority', async () => {
    const runner = createRunner({ threads });
    const { sab, cells: order } = cells(16);
    await runner.graph(uneven(sab), { concurrency: 1 });
    expect(marks(order)).toEqual([11, 12, 1, 2, 3, 13]);
  });
});
