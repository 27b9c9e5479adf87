// A map's default window grows with the runner's threads: under a window of w a chunk holds
// at most w / (2 x threads) items, so a fixed 16384 left 16 threads chunks of 512 tiny items.
import { describe, expect, it } from 'vitest';
import { defineTask } from '../src/index.js';
import { defaultWindow } from '../src/runner.js';
import { trackRunners } from './helpers/runners.js';

const double = defineTask<number, number>(
  new URL('./fixtures/tasks.mjs', import.meta.url),
  'double',
);

const createRunner = trackRunners();

describe('the default window of a map', () => {
  it('is 8192 per thread, at least 16384 and at most 2^20', () => {
    expect(defaultWindow(0)).toBe(16_384);
    expect(defaultWindow(1)).toBe(16_384);
    expect(defaultWindow(2)).toBe(16_384);
    expect(defaultWindow(3)).toBe(24_576);
    expect(defaultWindow(16)).toBe(131_072);
    expect(defaultWindow(128)).toBe(2 ** 20);
    expect(defaultWindow(1000)).toBe(2 ** 20);
  });

  it.each([
    { threads: 1, window: 16_384 },
    { threads: 4, window: 32_768 },
  ])(
    'is read ahead in full on $threads thread(s) before a result is taken',
    async ({ threads, window }) => {
      const runner = createRunner({ threads });
      let pulled = 0;
      let full!: () => void;
      const filled = new Promise<void>((resolve) => {
        full = resolve;
      });
      function* source(): Generator<number> {
        for (let i = 0; ; i++) {
          if (++pulled === window) full();
          yield i;
        }
      }
      const iterator = runner.map(double, source())[Symbol.asyncIterator]();
      // The first result is asked for (and taken, which frees one place): nothing more.
      const first = await iterator.next();
      expect(first).toEqual({ done: false, value: 0 });
      await filled;
      expect(pulled).toBeGreaterThanOrEqual(window);
      expect(pulled).toBeLessThanOrEqual(window + 1);
      await iterator.return?.();
    },
  );
});
