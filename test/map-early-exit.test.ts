// Leaving a map() loop early stops the work, closes the source and frees the threads.
import { expect, it } from 'vitest';
import { defineTask } from '../src/index.js';
import { trackRunners } from './helpers/runners.js';

const fixtures = new URL('./fixtures/tasks.mjs', import.meta.url);
const double = defineTask<number, number>(fixtures, 'double');
const barrier = defineTask<{ sab: SharedArrayBuffer; parties: number }, number>(
  fixtures,
  'barrier',
);

const createRunner = trackRunners();

it('stops an endless generator when the consumer breaks, and frees every thread', async () => {
  const runner = createRunner({ threads: 2 });
  let closed = false;
  let pulled = 0;
  function* endless(): Generator<number> {
    try {
      for (let i = 0; ; i++) {
        pulled++;
        yield i;
      }
    } finally {
      closed = true;
    }
  }
  let seen = 0;
  for await (const value of runner.map(double, endless(), { window: 1000 })) {
    expect(value).toBe(2 * seen);
    if (++seen === 20_000) break;
  }
  expect(closed).toBe(true);
  const pulledAtExit = pulled;
  // Both threads are free: a 2-party barrier can only complete if each runs one side.
  const sab = new SharedArrayBuffer(4);
  const threads = await runner.all(barrier, [
    { sab, parties: 2 },
    { sab, parties: 2 },
  ]);
  expect(new Set(threads).size).toBe(2);
  expect(pulled).toBe(pulledAtExit); // nothing read the source after the break
});

it('can be iterated only once', async () => {
  const runner = createRunner({ threads: 0 });
  const stream = runner.map(double, [1, 2]);
  expect(await stream.toArray()).toEqual([2, 4]);
  expect(() => stream[Symbol.asyncIterator]()).toThrow(
    expect.objectContaining({ code: 'ERR_MAP_CONSUMED' }),
  );
  await expect(stream.toArray()).rejects.toMatchObject({ code: 'ERR_MAP_CONSUMED' });
});
