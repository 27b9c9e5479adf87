// A chunk that runs later than its items were measured to cost gives the items it has not
// run to a thread that is idle: an input whose start is cheap and whose end is costly (its
// cost jumps where nothing measured could see it) does not end on one thread.
import { describe, expect, it } from 'vitest';
import { builtins, type CallTrace, createRunner } from '../src/index.js';

describe('the end of an input whose cost jumps', () => {
  it('is shared by the threads, though a split by count put all of it on one', async () => {
    await using runner = createRunner({ threads: 2 });
    const cheap = { iterations: 1, seed: 0 };
    // A first call tells the runner that spin items are cheap: the next one starts with
    // chunks of that size, a thread's whole share each.
    await runner.all(
      builtins.spin,
      Array.from({ length: 2_000 }, () => cheap),
    );
    const slowFrom = 9_960;
    const inputs = Array.from({ length: 10_000 }, (_, seed) =>
      seed < slowFrom ? { iterations: 1, seed } : { iterations: 1_700_000, seed },
    );
    let trace: CallTrace | undefined;
    const outputs = await runner.all(builtins.spin, inputs, {
      onTrace: (t) => {
        trace = t;
      },
    });
    expect(outputs).toHaveLength(inputs.length);
    const threadsOfSlow = new Set(
      trace!.attempts
        .filter((a) => typeof a.job === 'number' && a.job >= slowFrom)
        .map((a) => a.thread),
    );
    expect(threadsOfSlow.size).toBe(2);
  });
});
