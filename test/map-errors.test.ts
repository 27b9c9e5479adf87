// map() under each policy: fail-fast ends the stream with the first failure (after its
// retries); settle yields every item's outcome; retries apply per item; a throwing source
// ends the stream with its error (one whose next() answers with no object, with a
// TypeError); an abort ends it with the signal's reason.
import { describe, expect, it } from 'vitest';
import { defineTask } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { trackRunners } from './helpers/runners.js';

const fixtures = new URL('./fixtures/chunk-tasks.mjs', import.meta.url);
const failIfOdd = defineTask<number, number>(fixtures, 'failIfOdd');
const flaky = defineTask<{ succeedOn: number }, number>(fixtures, 'flaky');

const createRunner = trackRunners();

describe.each(executors)('map errors on $name', ({ options }) => {
  it('fail-fast: the stream ends with the first failing item', async () => {
    const runner = createRunner(options);
    const inputs = [0, 2, 4, 7, 8, 10];
    const seen: number[] = [];
    const error = await (async () => {
      for await (const value of runner.map(failIfOdd, inputs)) seen.push(value);
    })().catch((e) => e);
    expect(error.code).toBe('ERR_TASK_FAILED');
    expect(error.job).toBe(3);
    expect(seen.every((v) => v % 20 === 0)).toBe(true);
  });

  it('fail-fast: the outputs before the failing item that had finished come first, in order', async () => {
    const runner = createRunner(options);
    // One chunk: items 0 to 2 have finished when item 3's failure stops the map.
    const seen: number[] = [];
    const error = await (async () => {
      for await (const value of runner.map(failIfOdd, [0, 2, 4, 7, 8, 10], { chunkSize: 6 })) {
        seen.push(value);
      }
    })().catch((e) => e);
    expect(error).toMatchObject({ code: 'ERR_TASK_FAILED', job: 3 });
    expect(seen).toEqual([0, 20, 40]);
    // Completion order: what had finished before the failure, nothing after it.
    const unordered: number[] = [];
    const again = await (async () => {
      const stream = runner.map(failIfOdd, [7, 0, 2, 4], { chunkSize: 4, ordered: false });
      for await (const value of stream) unordered.push(value);
    })().catch((e) => e);
    expect(again).toMatchObject({ code: 'ERR_TASK_FAILED', job: 0 });
    expect(unordered).toEqual([]);
  });

  it('settle: every item gets its outcome, in order, chunk-mates unharmed', async () => {
    const runner = createRunner(options);
    const outcomes = await runner
      .map(
        failIfOdd,
        Array.from({ length: 100 }, (_, i) => i),
        {
          policy: 'settle',
          chunkSize: 25,
        },
      )
      .toArray();
    expect(outcomes).toHaveLength(100);
    outcomes.forEach((outcome, i) => {
      expect(outcome.status).toBe(i % 2 === 0 ? 'fulfilled' : 'rejected');
      if (outcome.status === 'rejected') expect(outcome.reason.job).toBe(i);
      else expect(outcome.value).toBe(i * 10);
    });
  });

  it('retries per item', async () => {
    const runner = createRunner(options);
    const inputs = Array.from({ length: 30 }, (_, i) => ({ succeedOn: (i % 3) + 1 }));
    const outcomes = await runner
      .map(flaky, inputs, { policy: 'settle', retries: 2, chunkSize: 10 })
      .toArray();
    expect(outcomes.map((o) => o.attempts)).toEqual(inputs.map((i) => i.succeedOn));
  });

  it('ends with the error of a source that throws', async () => {
    const runner = createRunner(options);
    const boom = new Error('source broke');
    function* source(): Generator<number> {
      yield 1;
      yield 2;
      throw boom;
    }
    await expect(runner.map(failIfOdd, source(), { policy: 'settle' }).toArray()).rejects.toBe(
      boom,
    );
  });

  describe.each([
    ['a sync', false],
    ['an async', true],
  ])('%s source whose next() answers with no object', (_, async) => {
    const source = (result: unknown) =>
      async
        ? { [Symbol.asyncIterator]: () => ({ next: async () => result }) }
        : { [Symbol.iterator]: () => ({ next: () => result }) };
    const runner = () => createRunner(options);
    it.each([42, null])('ends with the TypeError for-await throws (%s)', async (result) => {
      const native = await (async () => {
        for await (const _ of source(result) as AsyncIterable<number>);
      })().catch((e: unknown) => e);
      expect(native).toBeInstanceOf(TypeError);
      let yielded = 0;
      const error = await (async () => {
        for await (const _ of runner().map(failIfOdd, source(result) as AsyncIterable<number>)) {
          if (++yielded === 10) break;
        }
      })().catch((e: unknown) => e);
      expect(yielded).toBe(0);
      expect(error).toBeInstanceOf(TypeError);
      expect((error as TypeError).message).toBe((native as TypeError).message);
      await expect(
        runner()
          .map(failIfOdd, source(result) as AsyncIterable<number>)
          .toArray(),
      ).rejects.toThrow((native as TypeError).message);
    });
  });

  it('ends with the signal reason when aborted mid-stream', async () => {
    const runner = createRunner(options);
    const controller = new AbortController();
    const reason = new Error('enough');
    function* endless(): Generator<number> {
      for (let i = 0; ; i += 2) yield i;
    }
    let seen = 0;
    const error = await (async () => {
      for await (const _ of runner.map(failIfOdd, endless(), { signal: controller.signal })) {
        if (++seen === 100) controller.abort(reason);
      }
    })().catch((e) => e);
    expect(error).toBe(reason);
  });

  it('rejects a source that is not iterable, naming it', () => {
    const runner = createRunner(options);
    expect(() => runner.map(failIfOdd, 42 as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
  });
});
