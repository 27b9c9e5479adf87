// runner.map() over every kind of source: ordered output equals the sequential result,
// unordered output is a permutation of it.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { defineTask } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { trackRunners } from './helpers/runners.js';

const double = defineTask<number, number>(
  new URL('./fixtures/tasks.mjs', import.meta.url),
  'double',
);
const N = 5_000;
const expected = Array.from({ length: N }, (_, i) => 2 * i);

function* numbers(): Generator<number> {
  for (let i = 0; i < N; i++) yield i;
}
async function* asyncNumbers(): AsyncGenerator<number> {
  for (let i = 0; i < N; i++) {
    if (i % 100 === 0) await Promise.resolve();
    yield i;
  }
}

const sources: { name: string; make: () => Iterable<number> | AsyncIterable<number> }[] = [
  { name: 'an array', make: () => Array.from({ length: N }, (_, i) => i) },
  { name: 'a generator', make: numbers },
  { name: 'an async generator', make: asyncNumbers },
  { name: 'an object-mode Readable', make: () => Readable.from(numbers()) },
];

const createRunner = trackRunners();

describe.each(executors)('map on $name', ({ options }) => {
  it.each(sources)('keeps input order over $name', async ({ make }) => {
    const runner = createRunner(options);
    const out: number[] = [];
    for await (const value of runner.map(double, make(), { window: 256 })) out.push(value);
    expect(out).toEqual(expected);
  });

  it.each(sources)('yields a permutation over $name when unordered', async ({ make }) => {
    const runner = createRunner(options);
    const out = await runner.map(double, make(), { ordered: false, window: 256 }).toArray();
    expect(out).toHaveLength(N);
    expect([...out].sort((a, b) => a - b)).toEqual(expected);
  });

  it('maps an empty source to an empty stream', async () => {
    const runner = createRunner(options);
    expect(await runner.map(double, []).toArray()).toEqual([]);
  });

  it('uses the same engine for all(): same results, same order', async () => {
    const runner = createRunner(options);
    expect(await runner.all(double, numbers())).toEqual(expected);
  });
});
