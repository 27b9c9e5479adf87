// A slow consumer slows the reading: no more than `window` inputs are ever between the
// source and the consumer (read ahead, in flight, or finished and waiting).
import { setImmediate as turn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { defineTask } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { trackRunners } from './helpers/runners.js';

const double = defineTask<number, number>(
  new URL('./fixtures/tasks.mjs', import.meta.url),
  'double',
);

const createRunner = trackRunners();

describe.each(executors)('map backpressure on $name', ({ options }) => {
  it.each([true, false])('never holds more than the window (ordered: %s)', async (ordered) => {
    const runner = createRunner(options);
    const window = 64;
    let pulled = 0;
    let consumed = 0;
    let most = 0;
    function* source(): Generator<number> {
      for (let i = 0; ; i++) {
        pulled++;
        most = Math.max(most, pulled - consumed);
        yield i;
      }
    }
    for await (const _ of runner.map(double, source(), { window, ordered })) {
      consumed++;
      // A slow consumer: let the engine run (and read ahead, if it would) between items.
      await turn();
      if (consumed === 500) break;
    }
    // The item being handed to the loop body counts as consumed a moment before the body
    // increments `consumed`, so the source may be one ahead of this count.
    expect(most).toBeLessThanOrEqual(window + 1);
    expect(most).toBeGreaterThan(1); // it did read ahead
  });
});
