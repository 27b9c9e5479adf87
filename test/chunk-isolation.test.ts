// Items travel in chunks, but each keeps its own outcome: errors, retries and crashes
// of one item do not fail its chunk-mates.
import { describe, expect, it } from 'vitest';
import { ThreadsExecutor } from '../src/executors/threads.js';
import { defineTask, type Executor } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { trackRunners } from './helpers/runners.js';

const fixtures = new URL('./fixtures/chunk-tasks.mjs', import.meta.url);
const failIfOdd = defineTask<number, number>(fixtures, 'failIfOdd');
const flaky = defineTask<{ succeedOn: number }, number>(fixtures, 'flaky');
const exitOn = defineTask<{ value: number; exit: boolean }, number>(fixtures, 'exitOn');
const outputFor = defineTask<{ value: number; bad: boolean }, { value: number }>(
  fixtures,
  'outputFor',
);

const answerAs = defineTask<{ x: number; how: string }, number | undefined>(fixtures, 'answerAs');
const HOW = ['value', 'undefined', 'throw', 'promise', 'promised undefined', 'reject', 'late'];

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

const createRunner = trackRunners();

describe.each(executors)('chunked dispatch on $name', ({ options }) => {
  it('keeps errors per item inside a chunk (settle)', async () => {
    const runner = createRunner(options);
    const report = await runner.all(failIfOdd, range(200), { policy: 'settle', chunkSize: 50 });
    expect(report.counts).toEqual({ total: 200, fulfilled: 100, rejected: 100 });
    report.results.forEach((outcome, i) => {
      if (i % 2 === 0) {
        expect(outcome).toMatchObject({ status: 'fulfilled', value: i * 10, attempts: 1 });
      } else {
        expect(outcome.status).toBe('rejected');
        if (outcome.status !== 'rejected') return;
        expect(outcome.reason.code).toBe('ERR_TASK_FAILED');
        expect(outcome.reason.job).toBe(i);
        expect((outcome.reason.cause as { input?: number }).input).toBe(i);
      }
    });
  });

  it('gives each item its own outcome whether it answers at once or through a promise', async () => {
    const runner = createRunner(options);
    // Runs of items that answer at once, broken by promises, throws and rejections.
    const inputs = range(120).map((x) => ({ x, how: HOW[(x * 5 + (x >> 3)) % HOW.length]! }));
    const expected = (how: string, x: number) =>
      how === 'throw' || how === 'reject'
        ? 'failed'
        : how.includes('undefined')
          ? undefined
          : x * 2;
    const report = await runner.all(answerAs, inputs, { policy: 'settle', chunkSize: 24 });
    expect(report.results.map((r) => (r.status === 'fulfilled' ? r.value : 'failed'))).toEqual(
      inputs.map(({ x, how }) => expected(how, x)),
    );
    // Those that succeed, as bare values in a map (the path that groups clock readings).
    const fine = inputs.filter(({ how }) => how !== 'throw' && how !== 'reject');
    await expect(runner.map(answerAs, fine, { chunkSize: 24 }).toArray()).resolves.toEqual(
      fine.map(({ x, how }) => expected(how, x)),
    );
  });

  it('retries items one by one, not their chunk', async () => {
    const runner = createRunner(options);
    const inputs = range(60).map((i) => ({ succeedOn: (i % 3) + 1 }));
    const report = await runner.all(flaky, inputs, {
      policy: 'settle',
      chunkSize: 20,
      retries: 2,
    });
    expect(report.counts.fulfilled).toBe(60);
    report.results.forEach((outcome, i) => {
      expect(outcome).toMatchObject({
        status: 'fulfilled',
        value: (i % 3) + 1,
        attempts: (i % 3) + 1,
      });
    });
  });

  it('fails fast with the first failing item of the chunk', async () => {
    const runner = createRunner(options);
    const error = await runner.all(failIfOdd, [0, 2, 4, 5, 6, 7], { chunkSize: 6 }).catch((e) => e);
    expect(error.code).toBe('ERR_TASK_FAILED');
    expect(error.job).toBe(3);
  });

  it('blames only the item whose output cannot cross threads', async () => {
    const runner = createRunner(options);
    const inputs = range(30).map((value) => ({ value, bad: value === 17 }));
    const report = await runner.all(outputFor, inputs, { policy: 'settle', chunkSize: 10 });
    expect(report.counts).toEqual({ total: 30, fulfilled: 29, rejected: 1 });
    const bad = report.results[17]!;
    expect(bad.status === 'rejected' && bad.reason.code).toBe('ERR_DATA_CLONE');
    expect(report.results[16]).toMatchObject({ status: 'fulfilled', value: { value: 16 } });
  });

  it('blames only the item whose input cannot cross threads', async () => {
    const runner = createRunner(options);
    const inputs: unknown[] = range(30);
    inputs[4] = { fn() {} };
    const report = await runner.all(failIfOdd, inputs as number[], {
      policy: 'settle',
      chunkSize: 10,
    });
    const bad = report.results[4]!;
    expect(bad.status === 'rejected' && bad.reason.code).toBe('ERR_DATA_CLONE');
    expect(bad.status === 'rejected' && bad.reason.job).toBe(4);
    expect(report.results[6]).toMatchObject({ status: 'fulfilled', value: 60 });
    expect(report.counts.fulfilled).toBe(14);
  });
});

describe('chunked dispatch on threads: crashes', () => {
  it('a worker crash fails only the item that caused it', async () => {
    const runner = createRunner({ threads: 2 });
    const inputs = range(40).map((value) => ({ value, exit: value === 23 }));
    const report = await runner.all(exitOn, inputs, { policy: 'settle', chunkSize: 10 });
    expect(report.counts).toEqual({ total: 40, fulfilled: 39, rejected: 1 });
    const crashed = report.results[23]!;
    expect(crashed.status === 'rejected' && crashed.reason.code).toBe('ERR_WORKER_EXITED');
    expect(report.results[22]).toMatchObject({ status: 'fulfilled', value: 44, attempts: 1 });
    // The pool recovered: the next call runs on fresh workers.
    expect(await runner.all(failIfOdd, [0, 2, 4])).toEqual([0, 20, 40]);
  });

  it('a big chunk that crashes is searched in parts, not item by item', async () => {
    // Counts the messages sent to threads: every chunk, however it travels.
    const threads = new ThreadsExecutor({ threads: 2 });
    let messages = 0;
    const counting: Executor = {
      kind: 'threads',
      parallelism: threads.parallelism,
      execute: (request, options) => {
        messages++;
        return threads.execute(request, options);
      },
      open: (signal) => {
        const session = threads.open(signal);
        return {
          execute: (request, transfer, last) => {
            messages++;
            return session.execute(request, transfer, last);
          },
          close: () => session.close(),
        };
      },
      close: () => threads.close(),
      destroy: () => threads.destroy(),
    };
    const runner = createRunner({ executor: counting });
    const inputs = range(5000).map((value) => ({ value, exit: value === 4321 }));
    const report = await runner.all(exitOn, inputs, { policy: 'settle', chunkSize: 5000 });
    expect(report.counts).toEqual({ total: 5000, fulfilled: 4999, rejected: 1 });
    const crashed = report.results[4321]!;
    expect(crashed.status === 'rejected' && crashed.reason.code).toBe('ERR_WORKER_EXITED');
    // The chunk, its 16 parts, and the items of the part that crashed again, one by one
    // (5000 / 16 of them): not 5000 messages.
    expect(messages).toBeLessThanOrEqual(1 + 16 + Math.ceil(5000 / 16) + 1);
  });
});
