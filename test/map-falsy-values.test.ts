// Results that are themselves empty-looking (undefined, null, 0, '', false, NaN) come
// out of map() like any other: none is taken for "no result yet" and none is dropped.
import { describe, expect, it } from 'vitest';
import { defineTask } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { trackRunners } from './helpers/runners.js';

const echo = defineTask<unknown, unknown>(new URL('./fixtures/tasks.mjs', import.meta.url), 'echo');
const createRunner = trackRunners();

// Many of each, so they fill whole chunks and land out of order between threads.
const base: unknown[] = [undefined, null, 0, '', false, Number.NaN, 1];
const inputs = Array.from({ length: 700 }, (_, i) => base[i % base.length]);

describe.each(executors)('map of falsy results on $name', ({ options }) => {
  it('keeps every one, in order, with toArray()', async () => {
    const runner = createRunner(options);
    const out = await runner.map(echo, inputs, { chunkSize: 16, window: 64 }).toArray();
    expect(out).toHaveLength(inputs.length);
    expect(out).toEqual(inputs);
  });

  it('keeps every one, in order, with for await', async () => {
    const runner = createRunner(options);
    const out: unknown[] = [];
    for await (const value of runner.map(echo, inputs, { chunkSize: 16, window: 64 })) {
      out.push(value);
    }
    expect(out).toEqual(inputs);
  });

  it('keeps every one when unordered', async () => {
    const runner = createRunner(options);
    const out = await runner.map(echo, inputs, { ordered: false, chunkSize: 16 }).toArray();
    const count = (list: unknown[], v: unknown) => list.filter((x) => Object.is(x, v)).length;
    for (const v of base) expect(count(out, v)).toBe(count(inputs, v));
    expect(out).toHaveLength(inputs.length);
  });
});
