// The model behind `fanout advise`'s prediction, on measurements made up for each case.
import { describe, expect, it } from 'vitest';
import { DEFAULT_TARGET_MS } from '../src/chunking.js';
import { type Measurement, predict } from '../src/cli/advise.js';

const base: Measurement = {
  items: 100_000,
  failures: 0,
  meanMs: 0.05,
  cv: 0,
  maxMs: 0.05,
  cloneMs: 0,
  messageMs: 0.4,
  itemMs: 0,
  efficiency: 1,
};

describe('predict', () => {
  it('gives the chunk automatic chunking settles at: the target, at most a thread share', () => {
    expect(predict(base, 2).chunk).toBe(Math.floor(DEFAULT_TARGET_MS / base.meanMs));
    // 6000 items of 10 µs: the target would be 5000 items, so that one thread would get
    // 5000 and the other 1000. Automatic chunks give each thread its share instead.
    const few = { ...base, items: 6000, meanMs: 0.01, maxMs: 0.01 };
    expect(predict(few, 2).chunk).toBe(3000);
    expect(predict(few, 4).chunk).toBe(1500);
  });

  it('charges what fanout adds to every item: tiny items stop paying', () => {
    const tiny = { ...base, meanMs: 0.001, maxMs: 0.001 };
    expect(predict(tiny, 2).speedup).toBeGreaterThan(1.9);
    const charged = predict({ ...tiny, itemMs: 0.001 }, 2).speedup;
    expect(charged).toBeLessThan(1);
    // Moving a large input costs the same way.
    expect(predict({ ...tiny, cloneMs: 0.001 }, 2).speedup).toBeCloseTo(charged, 5);
  });

  it('lets each thread keep only the share of its speed measured here', () => {
    const full = predict(base, 4).speedup;
    const slowed = predict({ ...base, efficiency: 0.5 }, 4).speedup;
    expect(slowed).toBeLessThan(full * 0.55);
    expect(slowed).toBeGreaterThan(full * 0.45);
  });

  it('bounds the speedup by the longest item', () => {
    // 100 items of 1 ms and one of 100 ms: 200 ms of work, and no split of it ends before
    // the 100 ms item does.
    const skewed = { ...base, items: 101, meanMs: 200 / 101, maxMs: 100 };
    expect(predict(skewed, 64).speedup).toBeLessThan(2);
  });

  it('names what costs the most beyond the evenly shared work', () => {
    const tiny = { ...base, meanMs: 0.001, maxMs: 0.001 };
    expect(predict({ ...tiny, itemMs: 0.001 }, 2).limit).toBe('per-item');
    expect(predict({ ...base, efficiency: 0.3 }, 2).limit).toBe('slow-threads');
    expect(predict({ ...base, items: 20, meanMs: 1, maxMs: 1, messageMs: 5 }, 2).limit).toBe(
      'messages',
    );
    expect(predict({ ...base, items: 101, meanMs: 200 / 101, maxMs: 100 }, 2).limit).toBe(
      'slowest-item',
    );
    expect(predict(base, 1).limit).toBe('none');
  });

  it('predicts no gain on one thread', () => {
    expect(predict(base, 1).speedup).toBe(1);
  });
});
