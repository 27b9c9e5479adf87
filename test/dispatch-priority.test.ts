// The dispatcher hands a freed slot to the waiter with the highest priority, FIFO among
// equal priorities (the default, 0, keeps every call first come first served), and skips
// waiters whose signal aborted.
import { describe, expect, it } from 'vitest';
import { Stop } from '../src/abort.js';
import { Dispatcher } from '../src/dispatch.js';

/** Acquires with each priority in turn, behind one held slot; returns the grant order. */
async function grantOrder(
  priorities: readonly (number | undefined)[],
  abortAt: readonly number[] = [],
): Promise<number[]> {
  const dispatcher = new Dispatcher(1, Number.POSITIVE_INFINITY);
  const first = await dispatcher.acquire(new Stop());
  const granted: number[] = [];
  const controllers = priorities.map(() => new Stop());
  const waits = priorities.map((priority, i) =>
    dispatcher.acquire(controllers[i]!, priority).then(
      (release) => {
        granted.push(i);
        release();
      },
      () => {},
    ),
  );
  for (const i of abortAt) controllers[i]!.abort();
  first();
  await Promise.all(waits);
  return granted;
}

describe('dispatcher priority', () => {
  it('is first come first served by default', async () => {
    expect(await grantOrder([undefined, undefined, undefined, undefined])).toEqual([0, 1, 2, 3]);
  });

  it('serves higher priorities first, FIFO among equals', async () => {
    expect(await grantOrder([0, 5, 1, 5, 0, 1])).toEqual([1, 3, 2, 5, 0, 4]);
  });

  it('skips waiters whose signal aborted', async () => {
    expect(await grantOrder([3, 2, 1, 0], [0, 2])).toEqual([1, 3]);
  });

  it('keeps the order when most waiters leave (the heap is rebuilt)', async () => {
    const priorities = Array.from({ length: 3000 }, (_, i) => i % 7);
    const aborted = Array.from({ length: 2500 }, (_, i) => i);
    const order = await grantOrder(priorities, aborted);
    const expected = priorities
      .map((priority, i) => ({ priority, i }))
      .filter(({ i }) => i >= 2500)
      .sort((a, b) => b.priority - a.priority || a.i - b.i)
      .map(({ i }) => i);
    expect(order).toEqual(expected);
  });

  it('grants at once while a slot is free, whatever the priority', async () => {
    const dispatcher = new Dispatcher(2, Number.POSITIVE_INFINITY);
    const signal = new Stop();
    const a = await dispatcher.acquire(signal, -5);
    const b = await dispatcher.acquire(signal, 0);
    let third = false;
    const c = dispatcher.acquire(signal, 9).then((release) => {
      third = true;
      return release;
    });
    await Promise.resolve();
    expect(third).toBe(false);
    a();
    (await c)();
    b();
    expect(third).toBe(true);
  });
});
