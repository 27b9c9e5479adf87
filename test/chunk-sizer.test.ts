import { describe, expect, it } from 'vitest';
import { ChunkSizer, itemsLeft, TaskCosts, toCut } from '../src/chunking.js';

/** Feeds the sizer chunks of items costing `costMs` each, as a worker would report. */
function drive(sizer: ChunkSizer, costMs: number, steps: number, remaining?: number): number[] {
  const sizes: number[] = [];
  for (let i = 0; i < steps; i++) {
    const size = sizer.next(remaining);
    sizes.push(size);
    sizer.observe(size, size * costMs);
  }
  return sizes;
}

describe('ChunkSizer (simulated timings)', () => {
  it('starts with the smallest chunk before anything is measured', () => {
    expect(new ChunkSizer({ threads: 2 }).next()).toBe(1);
    expect(new ChunkSizer({ threads: 2, min: 5 }).next()).toBe(5);
  });

  it('grows at most 2x a step and settles where a chunk costs the target duration', () => {
    const sizer = new ChunkSizer({ threads: 2, targetMs: 10 });
    const sizes = drive(sizer, 0.001, 20); // 1 µs items: ideal 10 ms / 1 µs = 10,000
    for (let i = 1; i < sizes.length; i++) {
      expect(sizes[i]!).toBeLessThanOrEqual(2 * sizes[i - 1]!);
    }
    expect(sizes.slice(0, 5)).toEqual([1, 2, 4, 8, 16]);
    expect(sizes.at(-1)).toBe(10_000);
  });

  it('sends items that cost more than the target one at a time', () => {
    const sizer = new ChunkSizer({ threads: 2, targetMs: 10 });
    expect(drive(sizer, 50, 5)).toEqual([1, 1, 1, 1, 1]);
  });

  it('respects minChunk and maxChunk', () => {
    const capped = new ChunkSizer({ threads: 2, max: 64 });
    expect(Math.max(...drive(capped, 0.001, 30))).toBe(64);
    const floored = new ChunkSizer({ threads: 2, min: 8 });
    expect(Math.min(...drive(floored, 50, 5))).toBe(8);
  });

  it('shrinks chunks at the tail of a known-length input so every thread gets a share', () => {
    // Messages that cost nothing: the tail shrinks all the way down.
    const sizer = new ChunkSizer({ threads: 2, targetMs: 10, roundTripMs: 0 });
    drive(sizer, 0.001, 20);
    expect(sizer.next(1_000_000)).toBe(10_000);
    // 2 chunks per thread at most at the tail: 80 items left on 2 threads → 20.
    expect(sizer.next(80)).toBe(20);
    expect(sizer.next(3)).toBe(1);
    expect(sizer.next(1)).toBe(1);
  });

  it('stops shrinking the tail at two round trips of work', () => {
    // 0.1 ms items, 0.5 ms a message: the floor is 1 ms of work, 10 items.
    const sizer = new ChunkSizer({ threads: 2, targetMs: 10, roundTripMs: 0.5 });
    drive(sizer, 0.1, 10);
    expect(sizer.next(200)).toBe(50);
    expect(sizer.next(24)).toBe(10);
    // but never above the share of a thread: 8 left on 2 threads, 4 each.
    expect(sizer.next(8)).toBe(4);
  });

  it('never lets the floor take more than the share of a thread', () => {
    // Slow messages and cheap items: the floor is 200 items, but 2 items left on 2
    // threads still go one each.
    const sizer = new ChunkSizer({ threads: 2, targetMs: 10, roundTripMs: 1 });
    drive(sizer, 0.01, 10);
    expect(sizer.next(2)).toBe(1);
    expect(sizer.next(100)).toBe(50);
  });

  it('lets the floor take the share of a thread counting what the others still run', () => {
    // 0.01 ms items, 1 ms a message: the floor is 200 items. 64 left while the other
    // thread has just been sent 64: one chunk of all 64, not 32, then 16, then 8...
    const sizer = new ChunkSizer({ threads: 2, targetMs: 10, roundTripMs: 1 });
    drive(sizer, 0.01, 10);
    expect(sizer.next(64, 64)).toBe(64);
    expect(sizer.next(64, 0)).toBe(32);
  });

  it('learns what a message costs from the chunks it measures', () => {
    const sizer = new ChunkSizer({ threads: 2, targetMs: 10, roundTripMs: 0 });
    for (let i = 0; i < 20; i++) sizer.observe(50, 50 * 0.1, 1); // 1 ms beyond the items
    // Now 2 round trips are 2 ms of work: 20 items of 0.1 ms.
    expect(sizer.next(40)).toBe(20);
  });

  it('is not thrown by one slow message (a worker loading the module)', () => {
    const sizer = new ChunkSizer({ threads: 2, targetMs: 10, roundTripMs: 0.5 });
    drive(sizer, 0.1, 10);
    sizer.observe(50, 50 * 0.1, 200); // one message 200 ms late
    // The estimate grows to 0.5 + 0.3 x (1.1 - 0.5) = 0.68 ms, not 60: the floor is
    // 2 x 0.68 ms of work, 14 items of 0.1 ms, not 1,200.
    expect(sizer.next(40)).toBe(14);
  });

  it('gives each thread its whole share of the tail at once when items cost evenly', () => {
    const even = new ChunkSizer({ threads: 2, targetMs: 10, roundTripMs: 0 });
    // Chunks of 0.01 ms items that all cost the same: no spread.
    for (const n of [1, 2, 4, 8, 16, 32]) even.observe(n, n * 0.01, 0, n * 0.01 * 0.01);
    expect(even.next(80)).toBe(40);
    const uneven = new ChunkSizer({ threads: 2, targetMs: 10, roundTripMs: 0 });
    // The same chunks, but one item in each costs 10 times the others.
    for (const n of [2, 4, 8, 16, 32]) {
      const busy = (n - 1) * 0.01 + 0.1;
      uneven.observe(n, busy, 0, (n - 1) * 0.01 * 0.01 + 0.1 * 0.1);
    }
    expect(uneven.next(80)).toBe(20);
  });

  it('gives whole shares when their likely imbalance costs less than halving the tail', () => {
    // 0.05 ms items that a busy machine delays now and then (measured spread 1.5), 0.5 ms
    // a message. Shares of 500 differ by about 1.5 x sqrt(500) x 0.05 = 1.7 ms; halving
    // down to the floor (20 items) takes log2(25) = 4.6 round trips, 2.3 ms: whole shares.
    const delayed = new ChunkSizer({ threads: 2, targetMs: 1000, roundTripMs: 0.5 });
    delayed.seed({ perItemMs: 0.05, spread: 1.5 });
    expect(delayed.next(1000)).toBe(500);
    // 2% of items 100x heavier (spread 4.65, 0.15 ms on average): shares of 500 could
    // differ by about 16 ms, more than 6 halvings cost: a quarter of what remains.
    const heavy = new ChunkSizer({ threads: 2, targetMs: 1000, roundTripMs: 0.5 });
    heavy.seed({ perItemMs: 0.15, spread: 4.65 });
    expect(heavy.next(1000)).toBe(250);
  });

  it('halves the tail when items cost evenly inside chunks but differently from chunk to chunk', () => {
    // The rows of an image: each chunk of neighbours costs evenly (no spread inside it),
    // but the middle rows cost 10x the edge ones. Whole shares would give one thread the
    // middle: the tail is halved instead.
    const drifting = new ChunkSizer({ threads: 2, targetMs: 1000, roundTripMs: 0.5 });
    for (const perItem of [0.1, 1, 1, 0.1]) {
      drifting.observe(32, 32 * perItem, 0, 32 * perItem ** 2);
    }
    expect(drifting.next(64)).toBe(16);
    // The same costs, each chunk alike: whole shares.
    const steady = new ChunkSizer({ threads: 2, targetMs: 1000, roundTripMs: 0.5 });
    for (let i = 0; i < 4; i++) steady.observe(32, 32 * 0.55, 0, 32 * 0.55 ** 2);
    expect(steady.next(64)).toBe(32);
  });

  it('remembers the mean and spread of every item of the call, not of its last chunks', () => {
    const sizer = new ChunkSizer({ threads: 2, targetMs: 10, roundTripMs: 0 });
    // 10 items of 1 ms, then the cheap end of the input: 90 items of 0.1 ms.
    sizer.observe(10, 10, 0, 10 * 1 ** 2);
    for (let i = 0; i < 9; i++) sizer.observe(10, 10 * 0.1, 0, 10 * 0.1 ** 2);
    const { perItemMs, spread } = sizer.cost!;
    expect(perItemMs).toBeCloseTo(19 / 100, 10);
    // Over 100 items: mean 0.19, mean of squares 0.109, so spread = sqrt(0.109/0.0361 - 1).
    expect(spread).toBeCloseTo(Math.sqrt(0.109 / 0.19 ** 2 - 1), 10);
    // The smoothed cost, by then, is close to the last chunks' 0.1 ms.
    expect(sizer.perItemMs).toBeLessThan(0.14);
  });

  it('counts what the other threads still have to run when items cost evenly', () => {
    const sizer = new ChunkSizer({ threads: 2, targetMs: 10, roundTripMs: 0 });
    sizer.seed({ perItemMs: 0.01, spread: 0 });
    // 16 left and nothing in flight: half each. 8 left while the other thread still has
    // 8 to run: all 8, so both end together.
    expect(sizer.next(16, 0)).toBe(8);
    expect(sizer.next(8, 8)).toBe(8);
    expect(sizer.next(8, 2)).toBe(5);
  });

  it('starts from the spread remembered with the cost', () => {
    const sizer = new ChunkSizer({ threads: 2, targetMs: 10, roundTripMs: 0 });
    sizer.seed({ perItemMs: 0.01, spread: 0.05 });
    expect(sizer.next(80)).toBe(40);
    expect(sizer.cost).toEqual({ perItemMs: 0.01, spread: 0.05 });
  });

  it('copes with skew: one heavy chunk shrinks the next ones, and they recover', () => {
    const sizer = new ChunkSizer({ threads: 2, targetMs: 10 });
    drive(sizer, 0.01, 20); // 10 µs items: settles at 1000
    expect(sizer.next()).toBe(1000);
    sizer.observe(1000, 1000 * 1); // a chunk 100x heavier than usual
    const after = sizer.next();
    expect(after).toBeLessThan(1000);
    expect(after).toBeGreaterThan(1);
    const recovered = drive(sizer, 0.01, 20);
    expect(recovered.at(-1)).toBeGreaterThan(950);
  });

  it('keeps what a chunk costs the main thread within 10 ms, down to 16 items', () => {
    /** Drives 1 µs items whose chunks cost the main thread `chunkMs` + `itemMs` an item. */
    const driveMain = (sizer: ChunkSizer, itemMs: number, chunkMs = 0, steps = 40) => {
      const sizes: number[] = [];
      for (let i = 0; i < steps; i++) {
        const size = sizer.next();
        sizes.push(size);
        sizer.observe(size, size * 0.001);
        sizer.observeMain(size, chunkMs + size * itemMs);
      }
      return sizes;
    };
    // Settle outcomes, 0.5 µs each: 20,000 (50,000 by the target alone).
    const settle = new ChunkSizer({ threads: 2 });
    driveMain(settle, 0.0005);
    expect(settle.next()).toBe(20_000);
    // Records of many keys, 30 µs each: 333; a chunk of 10 ms an item: 16 at least.
    const records = new ChunkSizer({ threads: 2 });
    records.observe(1000, 1000 * 0.001);
    records.observeMain(1000, 1000 * 0.03);
    expect(records.next()).toBe(333);
    const dear = new ChunkSizer({ threads: 2 });
    dear.observe(1000, 1000 * 0.001);
    dear.observeMain(1000, 1000 * 10);
    expect(dear.next()).toBe(16);
    // Bare values of tiny items, ~0.1 µs: the target decides, even where each chunk costs
    // 0.2 ms of its own (a small chunk's items look dear, not enough to hold it back).
    const bare = new ChunkSizer({ threads: 2 });
    const sizes = driveMain(bare, 0.0001, 0.2);
    expect(sizes.slice(0, 5)).toEqual([1, 2, 4, 8, 16]);
    expect(bare.next()).toBe(50_000);
    // A fixed size is the caller's.
    const fixed = new ChunkSizer({ threads: 2, fixed: 500 });
    fixed.observeMain(500, 500);
    expect(fixed.next()).toBe(500);
  });

  it('smooths what chunks cost the main thread, and takes one over the budget at its word', () => {
    const sizer = new ChunkSizer({ threads: 2 });
    sizer.observe(1000, 1000 * 0.001);
    sizer.observeMain(1000, 1000 * 0.01); // 10 µs an item: 1000 a chunk
    expect(sizer.next()).toBe(1000);
    // Within the budget, half way to each new measurement.
    sizer.observeMain(1000, 1000 * 0.002);
    expect(sizer.next()).toBe(1666); // 10 ms / 6 µs
    // A chunk over the budget: its cost at once (items dearer than a cheap start said).
    sizer.observeMain(1000, 1000 * 0.125);
    expect(sizer.next()).toBe(80); // 10 ms / 125 µs
    sizer.observeMain(80, 80 * 0.0625);
    expect(sizer.next()).toBe(106); // 10 ms / 93.75 µs
    // Remembered with the task's cost, and a later call starts from it.
    const later = new ChunkSizer({ threads: 2 });
    later.seed(sizer.cost!);
    expect(later.next()).toBe(106);
    // Sending a chunk over the budget raises the estimate before its answer comes; within
    // the budget, sending says nothing yet.
    later.observeSent(1000, 9);
    expect(later.next()).toBe(106);
    later.observeSent(1000, 200); // 200 µs an item
    expect(later.next()).toBe(50);
  });

  it('uses a fixed size when one is given, never more than what remains', () => {
    const sizer = new ChunkSizer({ threads: 2, fixed: 7 });
    expect(drive(sizer, 0.001, 3)).toEqual([7, 7, 7]);
    expect(sizer.next(3)).toBe(3);
  });

  it('ignores measurements that carry no information', () => {
    const sizer = new ChunkSizer({ threads: 2 });
    sizer.observe(0, 5);
    sizer.observe(3, Number.NaN);
    expect(sizer.perItemMs).toBeUndefined();
    expect(sizer.next()).toBe(1);
  });

  it('starts from a cost seeded by an earlier call at half the target, then grows 2x a step', () => {
    const sizer = new ChunkSizer({ threads: 2, targetMs: 10 });
    sizer.seed({ perItemMs: 0.01, spread: undefined }); // 10 µs items: the target is 1000 of them
    const sizes = drive(sizer, 0.01, 3);
    expect(sizes).toEqual([500, 1000, 1000]);
  });

  it('ignores a seed once it has measured, and with a fixed size', () => {
    const measured = new ChunkSizer({ threads: 2, targetMs: 10 });
    drive(measured, 1, 8); // 1 ms items: 10 per chunk
    measured.seed({ perItemMs: 0.001, spread: undefined });
    expect(measured.next()).toBe(10);
    const fixed = new ChunkSizer({ threads: 2, fixed: 7 });
    fixed.seed({ perItemMs: 0.001, spread: undefined });
    expect(fixed.next()).toBe(7);
  });
});

describe('itemsLeft (what the chunks in flight still have to run)', () => {
  it('counts a chunk whole until a message could have reached its thread', () => {
    // 1 ms items, 0.5 ms a message: sent at 10, the chunk starts running at about 10.5.
    expect(itemsLeft([{ at: 10, size: 8 }], 10.4, 1, 0.5)).toBe(8);
    expect(itemsLeft([{ at: 10, size: 8 }], 13.5, 1, 0.5)).toBe(5);
  });

  it('sums the chunks in flight and never counts one below zero', () => {
    const flights = [
      { at: 0, size: 4 }, // long done by 20
      { at: 18, size: 10 }, // 1.5 ms of it run at 20
    ];
    expect(itemsLeft(flights, 20, 1, 0.5)).toBe(8.5);
  });

  it('counts nothing before an item has been measured', () => {
    expect(itemsLeft([{ at: 0, size: 100 }], 1, undefined, 0.5)).toBe(0);
    expect(itemsLeft([{ at: 0, size: 100 }], 1, 0, 0.5)).toBe(0);
  });
});

describe('TaskCosts', () => {
  const task = (name: string) => ({ module: 'file:///tasks.mjs', export: name });

  it('remembers the last cost of each task by module and export', () => {
    const costs = new TaskCosts();
    costs.set(task('a'), { perItemMs: 0.5, spread: undefined });
    costs.set(task('b'), { perItemMs: 2, spread: undefined });
    costs.set(task('a'), { perItemMs: 0.25, spread: undefined });
    expect(costs.get(task('a'))?.perItemMs).toBe(0.25);
    expect(costs.get(task('b'))?.perItemMs).toBe(2);
    expect(costs.get({ module: 'file:///other.mjs', export: 'a' })).toBeUndefined();
  });

  it('forgets the least recently set task beyond 256', () => {
    const costs = new TaskCosts();
    for (let i = 0; i <= 256; i++) costs.set(task(`t${i}`), { perItemMs: i, spread: undefined });
    expect(costs.get(task('t0'))).toBeUndefined();
    expect(costs.get(task('t1'))?.perItemMs).toBe(1);
    expect(costs.get(task('t256'))?.perItemMs).toBe(256);
  });
});

describe('toCut (simulated timings)', () => {
  const rtt = 0.5;
  const chunk = (at: number, size: number) => ({ at, size });

  it('cuts a chunk with more than two round trips of work left, by what its items cost', () => {
    // 1,000 items of 0.01 ms sent at 0: due at 10.5 ms; at 2 ms, 8.5 ms of work are left.
    const big = chunk(0, 1000);
    expect(toCut([big], 2, 0.01, rtt)).toEqual({ cut: [big], lookAgainAt: undefined });
  });

  it('leaves one about to answer, and looks again when it would be two round trips late', () => {
    const nearly = chunk(0, 1000); // due at 10.5 ms
    expect(toCut([nearly], 10, 0.01, rtt)).toEqual({ cut: [], lookAgainAt: 11.5 });
    // Still running then: its items cost more than measured (a cheap start, a costly end).
    expect(toCut([nearly], 11.6, 0.01, rtt)).toEqual({ cut: [nearly], lookAgainAt: undefined });
  });

  it('never cuts a chunk of one item, and looks again at the earliest of the others', () => {
    const one = chunk(0, 1);
    const a = chunk(0, 100); // due at 1.5 ms
    const b = chunk(0.2, 100); // due at 1.7 ms
    const { cut, lookAgainAt } = toCut([one, b, a], 1, 0.01, rtt);
    expect(cut).toEqual([]);
    expect(lookAgainAt).toBeCloseTo(2.5);
    expect(toCut([one], 100, 0.01, rtt)).toEqual({ cut: [], lookAgainAt: undefined });
  });

  it('takes items of no measured cost as costing nothing: late once two round trips pass', () => {
    const unmeasured = chunk(0, 50);
    expect(toCut([unmeasured], 1, undefined, rtt).cut).toEqual([]);
    expect(toCut([unmeasured], 1.6, undefined, rtt).cut).toEqual([unmeasured]);
  });
});
