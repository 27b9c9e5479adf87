// Leaving a map() loop early stops the work, closes the source and frees the threads; the
// loop ends once the source has cleaned up, as for await's would.
import { describe, expect, it } from 'vitest';
import { defineTask, type MapOptions, type Runner } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { deferred, nextTurn } from './helpers/latches.js';
import { trackRunners } from './helpers/runners.js';
import { tasks } from './helpers/tasks.js';

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

describe.each(executors)(
  'leaving a map on $name waits for the source to clean up',
  ({ options }) => {
    const cleanupError = new Error('cleanup failed');
    const consumerError = new Error('consumer threw');
    const reason = new Error('aborted');
    type Leave = (runner: Runner, source: AsyncIterable<number>, o: MapOptions) => Promise<void>;
    // How the loop ends, and what it throws then: as for await over the source would.
    const ways: [string, Leave, (error: unknown) => void][] = [
      [
        'break',
        async (runner, source, o) => {
          for await (const value of runner.map(tasks.double, source, o)) if (value === 4) break;
        },
        (error) => expect(error).toBe(cleanupError),
      ],
      [
        'a throw in the loop',
        async (runner, source, o) => {
          for await (const value of runner.map(tasks.double, source, o)) {
            if (value === 4) throw consumerError;
          }
        },
        (error) => expect(error).toBe(consumerError),
      ],
      [
        'a failed item',
        async (runner, source, o) => {
          for await (const _ of runner.map(tasks.failIfOdd, source, o));
        },
        (error) => expect(error).toMatchObject({ code: 'ERR_TASK_FAILED' }),
      ],
      [
        'an abort',
        async (runner, source, o) => {
          const controller = new AbortController();
          for await (const value of runner.map(tasks.double, source, {
            ...o,
            signal: controller.signal,
          })) {
            if (value === 4) controller.abort(reason);
          }
        },
        (error) => expect(error).toBe(reason),
      ],
    ];

    /**
     * Runs `leave` over `source` (whose finally logs, opens `cleaning` and waits for `gate`),
     * and checks that the loop has not ended once the threads are free (onStats) and the event
     * loop turned; then lets the cleanup end. Resolves with what the loop threw.
     */
    async function leaveAndClean(
      leave: Leave,
      source: (log: string[], cleaning: () => void, gate: Promise<void>) => AsyncIterable<number>,
    ): Promise<{ log: string[]; error: unknown }> {
      const runner = createRunner(options);
      const log: string[] = [];
      const cleaning = deferred();
      const gate = deferred();
      const freed = deferred();
      const loop = leave(runner, source(log, cleaning.resolve, gate.promise), {
        window: 64,
        onStats: () => freed.resolve(),
      }).then(
        () => {
          log.push('after-loop');
        },
        (error: unknown) => {
          log.push('after-loop');
          return error;
        },
      );
      await cleaning.promise;
      await freed.promise;
      await nextTurn();
      expect(log).toEqual(['finally-start']);
      gate.resolve();
      const error = await loop;
      return { log, error };
    }

    it.each(ways)('on %s, ends after the source’s return() settles', async (_, leave, check) => {
      async function* source(log: string[], cleaning: () => void, gate: Promise<void>) {
        try {
          for (let i = 0; ; i++) yield i === 3 ? 5 : 2 * i;
        } finally {
          log.push('finally-start');
          cleaning();
          await gate;
          log.push('finally-end');
          // Thrown from the loop where it ended by break; dropped where it ended by an error.
          // biome-ignore lint/correctness/noUnsafeFinally: a source whose cleanup fails
          throw cleanupError;
        }
      }
      const { log, error } = await leaveAndClean(leave, source);
      check(error);
      expect(log).toEqual(['finally-start', 'finally-end', 'after-loop']);
    });

    const quietly: [string, Leave, (error: unknown) => void][] = [
      ['break', ways[0]![1], (error) => expect(error).toBeUndefined()],
      ...ways.slice(1),
    ];
    it.each(quietly)(
      'on %s, ends after a read under way, the source’s last, has answered',
      async (_, leave, check) => {
        // The map read ahead to the source's end: its finally runs within that last read.
        async function* source(log: string[], cleaning: () => void, gate: Promise<void>) {
          try {
            yield* [0, 1, 2, 5];
          } finally {
            log.push('finally-start');
            cleaning();
            await gate;
            log.push('finally-end');
          }
        }
        const { log, error } = await leaveAndClean(leave, source);
        check(error);
        expect(log).toEqual(['finally-start', 'finally-end', 'after-loop']);
      },
    );

    it('does not wait for a read under way that never answers; return() follows it', async () => {
      const runner = createRunner(options);
      const answer = deferred<IteratorResult<number>>();
      let reads = 0;
      let returned = 0;
      const source: AsyncIterable<number> = {
        [Symbol.asyncIterator]: () => ({
          next: async () => (++reads <= 2 ? { value: reads, done: false } : answer.promise),
          return: async () => {
            returned++;
            return { value: undefined, done: true };
          },
        }),
      };
      for await (const value of runner.map(tasks.double, source)) if (value === 4) break;
      // The loop ended (after READ_GRACE_MS) with the third read still under way.
      expect(reads).toBe(3);
      expect(returned).toBe(0);
      answer.resolve({ value: 3, done: false });
      await nextTurn();
      expect(returned).toBe(1);
    });
  },
);
