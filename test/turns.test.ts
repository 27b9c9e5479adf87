// Answers are handed over within ~10 ms of the main thread's time a turn of its event loop:
// past it, the next waits for the loop to turn (timers and I/O go between), in the order
// the answers came. Ordered by latches (promises, immediates), no clock read.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Turns, turns } from '../src/turns.js';
import { doublingExecutor } from './helpers/executors.js';
import { trackRunners } from './helpers/runners.js';
import { tasks } from './helpers/tasks.js';

const createRunner = trackRunners();
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('Turns', () => {
  it('lets answers in at once while the turn has room, then one a turn, in order', async () => {
    const turns = new Turns();
    // Within the budget: one after the other, at once.
    expect(turns.enter()).toBeUndefined();
    turns.leave(4);
    expect(turns.enter()).toBeUndefined();
    turns.leave(7); // 11 ms: the turn is spent
    const order: string[] = [];
    const waits = ['a', 'b', 'c'].map((name) => {
      const wait = turns.enter();
      expect(wait).toBeInstanceOf(Promise);
      return wait!.then(() => {
        order.push(name);
        turns.leave(12); // each over the budget alone
      });
    });
    await Promise.resolve();
    expect(order).toEqual([]);
    // One a turn of the loop.
    await nextTurn();
    expect(order).toEqual(['a']);
    await nextTurn();
    expect(order).toEqual(['a', 'b']);
    await Promise.all(waits);
    expect(order).toEqual(['a', 'b', 'c']);
    // A new turn has room again.
    await nextTurn();
    expect(turns.enter()).toBeUndefined();
    turns.leave(0);
  });

  it('lets the next in at once when the one before left room, and never lets one overtake', async () => {
    const turns = new Turns();
    expect(turns.enter()).toBeUndefined();
    turns.leave(20);
    const order: string[] = [];
    let later: Promise<void> | undefined;
    const first = turns.enter()!.then(() => {
      order.push('first');
      // One that comes while another is in goes behind those already waiting.
      later = turns.enter()?.then(() => {
        order.push('later');
        turns.leave(0);
      });
      turns.leave(1); // cheap: the next goes in the same turn
    });
    const second = turns.enter()!.then(() => {
      order.push('second');
      turns.leave(1);
    });
    await Promise.all([first, second]);
    expect(later).toBeInstanceOf(Promise);
    await later;
    expect(order).toEqual(['first', 'second', 'later']);
  });
});

/** An executor whose every answer says it took 20 ms to take in: past the budget alone. */
function overBudget() {
  const executor = doublingExecutor(() => {});
  return {
    executor: {
      ...executor,
      execute: async (...args: Parameters<typeof executor.execute>) => ({
        ...(await executor.execute(...args)),
        receivedMs: 20,
      }),
    },
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('answers over the budget', () => {
  it("take turns by Node's own setImmediate, which a test's fake timers do not stop", async () => {
    // (The global one faked, a turn that never came would hold every later answer.)
    vi.useFakeTimers({ toFake: ['setImmediate'] });
    const runner = createRunner({ executor: overBudget().executor });
    const inputs = Array.from({ length: 2000 }, (_, i) => i);
    expect(await runner.all(tasks.double, inputs)).toEqual(inputs.map((x) => 2 * x));
  });

  it('are all handed over, in order, some a turn of the loop later', async () => {
    // Each answer says it took 20 ms to take in: the turn it came in is spent, and the
    // next answer of that turn waits for the loop to turn (one that waited was taken in
    // during an earlier turn: only handing it over counts in its own).
    const { executor } = overBudget();
    const waited = vi.spyOn(turns, 'enter');
    const runner = createRunner({ executor });
    const inputs = Array.from({ length: 5000 }, (_, i) => i);
    let count = 0;
    for await (const value of runner.map(tasks.double, inputs)) {
      expect(value).toBe(2 * count);
      count++;
    }
    expect(count).toBe(5000);
    const waits = waited.mock.results.filter((r) => r.value instanceof Promise).length;
    expect(waits).toBeGreaterThan(waited.mock.calls.length / 4);
  });
});
