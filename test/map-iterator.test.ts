// A map's async iterator keeps the contract of async generators and Node's stream
// iterators: calls of next() made before earlier ones settle are answered in order, and
// after return() every next() is done. A map also ends when retryOn throws or when it is
// aborted while its source (a stream) has nothing to read.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { TaskError } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { cells, nextTurn, release, started } from './helpers/latches.js';
import { trackRunners } from './helpers/runners.js';
import { tasks } from './helpers/tasks.js';
import { failOnUnhandledRejections } from './helpers/unhandled.js';

const createRunner = trackRunners();

const DONE = { done: true, value: undefined };

// An unhandled rejection during a test (a callback's error lost in the engine) fails it.
failOnUnhandledRejections();

describe.each(executors)('map iterator on $name', ({ options }) => {
  it('answers two calls of next() made before either settles, in order', async () => {
    const runner = createRunner(options);
    const iterator = runner.map(tasks.double, [1, 2, 3])[Symbol.asyncIterator]();
    const order: string[] = [];
    const first = iterator.next().then((r) => {
      order.push('first');
      return r;
    });
    const second = iterator.next().then((r) => {
      order.push('second');
      return r;
    });
    await expect(Promise.all([first, second])).resolves.toEqual([
      { done: false, value: 2 },
      { done: false, value: 4 },
    ]);
    expect(order).toEqual(['first', 'second']);
    await expect(iterator.next()).resolves.toEqual({ done: false, value: 6 });
    await expect(iterator.next()).resolves.toEqual(DONE);
  });

  it('answers several calls of next() made at once, then is done', async () => {
    const runner = createRunner(options);
    const iterator = runner.map(tasks.double, [1, 2, 3])[Symbol.asyncIterator]();
    const results = await Promise.all(Array.from({ length: 5 }, () => iterator.next()));
    expect(results).toEqual([
      { done: false, value: 2 },
      { done: false, value: 4 },
      { done: false, value: 6 },
      DONE,
      DONE,
    ]);
  });

  it('is done after return(), even with results already there', async () => {
    const runner = createRunner(options);
    const iterator = runner.map(tasks.double, [1, 2, 3, 4])[Symbol.asyncIterator]();
    await expect(iterator.next()).resolves.toEqual({ done: false, value: 2 });
    await expect(iterator.return!()).resolves.toEqual(DONE);
    await expect(iterator.next()).resolves.toEqual(DONE);
    await expect(iterator.next()).resolves.toEqual(DONE);
  });

  it('answers a next() still waiting when return() is called with done', async () => {
    const runner = createRunner(options);
    const held = cells(2);
    const iterator = runner
      .map(tasks.holdAsync, [{ sab: held.sab, index: 0, value: 'late' }])
      [Symbol.asyncIterator]();
    const waiting = iterator.next();
    await started(held.cells, 0);
    const returned = iterator.return!();
    await expect(waiting).resolves.toEqual(DONE);
    release(held.cells, 0);
    await expect(returned).resolves.toEqual(DONE);
    await expect(iterator.next()).resolves.toEqual(DONE);
  });

  describe('a retryOn that throws', () => {
    const inputs = [0, 2, 5, 4, 6];
    const FAILS = 2;
    const setup = () => {
      const boom = new Error('retryOn boom');
      const asked: number[] = [];
      const retries = {
        attempts: 2,
        retryOn: (error: TaskError) => {
          asked.push(error.job as number);
          throw boom;
        },
      };
      return { boom, asked, retries };
    };

    it('fails a settle call with what it threw, asked once, and the runner goes on', async () => {
      const runner = createRunner(options);
      const { boom, asked, retries } = setup();
      await expect(runner.all(tasks.failIfOdd, inputs, { policy: 'settle', retries })).rejects.toBe(
        boom,
      );
      expect(asked).toEqual([FAILS]);
      await expect(runner.all(tasks.double, [1, 2])).resolves.toEqual([2, 4]);
    });

    it('ends a settle map, which fails with what it threw', async () => {
      const runner = createRunner(options);
      const { boom, asked, retries } = setup();
      await expect(
        runner.map(tasks.failIfOdd, inputs, { policy: 'settle', retries }).toArray(),
      ).rejects.toBe(boom);
      expect(asked).toEqual([FAILS]);
      await expect(runner.map(tasks.double, [1, 2]).toArray()).resolves.toEqual([2, 4]);
    });

    it('fails a fail-fast all() with what it threw', async () => {
      const runner = createRunner(options);
      const { boom, asked, retries } = setup();
      await expect(runner.all(tasks.failIfOdd, inputs, { retries })).rejects.toBe(boom);
      expect(asked).toEqual([FAILS]);
    });

    it('fails a fail-fast map with what it threw, as all(), not with the job it did not retry', async () => {
      const runner = createRunner(options);
      const { boom, asked, retries } = setup();
      await expect(runner.map(tasks.failIfOdd, inputs, { retries }).toArray()).rejects.toBe(boom);
      expect(asked).toEqual([FAILS]);
      await expect(runner.map(tasks.double, [1, 2]).toArray()).resolves.toEqual([2, 4]);
    });
  });

  it('destroys an idle stream source when the map is aborted', async () => {
    const runner = createRunner(options);
    // Two values, then nothing more for now (a socket, a tail -f).
    const stream = new Readable({ objectMode: true, read() {} });
    stream.push(1);
    stream.push(2);
    const controller = new AbortController();
    const reason = new Error('stop');
    const seen: number[] = [];
    const loop = (async () => {
      for await (const value of runner.map(tasks.double, stream, { signal: controller.signal })) {
        seen.push(value);
        // Both values are in: the map is waiting on a read of the stream.
        if (seen.length === 2) controller.abort(reason);
      }
    })();
    await expect(loop).rejects.toBe(reason);
    expect(seen).toEqual([2, 4]);
    await nextTurn();
    expect(stream.destroyed).toBe(true);
    // The runner is free for more work.
    await expect(runner.all(tasks.double, [1, 2])).resolves.toEqual([2, 4]);
  });
});
