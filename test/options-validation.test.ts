// Options are validated where they enter: TypeError (ERR_INVALID_ARG_TYPE) for a wrong
// type, RangeError (ERR_INVALID_ARG_VALUE) for a wrong value, naming the option and the
// value received. Nothing runs when a call's arguments are invalid.
import { totalmem } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  createRunner,
  defineTask,
  InvalidArgTypeError,
  InvalidArgValueError,
  job,
} from '../src/index.js';
import { executors } from './helpers/executors.js';
import { cells } from './helpers/latches.js';
import { trackRunners } from './helpers/runners.js';
import { fixtures, tasks } from './helpers/tasks.js';

const makeRunner = trackRunners();

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

function expectTypeError(error: unknown, ...named: string[]): void {
  expect(error).toBeInstanceOf(TypeError);
  expect(error).toBeInstanceOf(InvalidArgTypeError);
  expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' });
  for (const text of named) expect((error as Error).message).toContain(text);
}

function expectRangeError(error: unknown, ...named: string[]): void {
  expect(error).toBeInstanceOf(RangeError);
  expect(error).toBeInstanceOf(InvalidArgValueError);
  expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', name: 'RangeError' });
  for (const text of named) expect((error as Error).message).toContain(text);
}

describe('createRunner options', () => {
  it.each([
    [-1, '-1'],
    [1.5, '1.5'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
  ])('rejects threads: %s with a RangeError', (threads, shown) => {
    expectRangeError(
      caught(() => createRunner({ threads })),
      'threads',
      shown,
    );
  });

  it('refuses more threads than the memory could hold, before starting any', () => {
    // One thread more than the memory could hold idle, at about 9 MiB a thread.
    const most = Math.floor(totalmem() / (9 * 2 ** 20));
    const error = caught(() => createRunner({ threads: most + 1 }));
    expectRangeError(error, 'threads', 'on this machine', String(most + 1));
    const shown = Number(/at most (\d+) on this machine/.exec((error as Error).message)?.[1]);
    expect(shown).toBeGreaterThan(0);
    expect(shown).toBeLessThanOrEqual(most); // a container's limit may lower it
  });

  it.each<[object, 'type' | 'range', string, string]>([
    [{ maxOldGenerationSizeMb: -1 }, 'range', 'resourceLimits.maxOldGenerationSizeMb', '-1'],
    [{ stackSizeMb: Number.POSITIVE_INFINITY }, 'range', 'resourceLimits.stackSizeMb', 'Infinity'],
    [
      { maxYoungGenerationSizeMb: 0 },
      'range',
      'resourceLimits.maxYoungGenerationSizeMb',
      'above 0',
    ],
    [{ stackSizeMb: '4' }, 'type', 'resourceLimits.stackSizeMb', '"4"'],
    // Smaller ones kill the process as a thread starts (Node 22: an old generation of 2 MB).
    [{ maxOldGenerationSizeMb: 2 }, 'range', 'resourceLimits.maxOldGenerationSizeMb', 'from 4 up'],
    [{ stackSizeMb: 0.2 }, 'range', 'resourceLimits.stackSizeMb', 'from 0.5 up'],
    [{ maxOldGenrationSizeMb: 64 }, 'range', 'Unknown key `maxOldGenrationSizeMb`', 'stackSizeMb'],
  ])('rejects resourceLimits %o', (resourceLimits, kind, ...named) => {
    const error = caught(() =>
      createRunner({ threads: 1, resourceLimits: resourceLimits as never }),
    );
    if (kind === 'type') expectTypeError(error, ...named);
    else expectRangeError(error, ...named);
  });

  it("takes resourceLimits as a worker reports them (0 for Node's default)", async () => {
    const limits = { maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: 64, codeRangeSizeMb: 0 };
    const runner = makeRunner({ threads: 1, resourceLimits: limits });
    await expect(runner.run(tasks.double, 2)).resolves.toBe(4);
  });

  describe('a custom executor', () => {
    const sound = {
      kind: 'mine',
      parallelism: 2,
      execute: async () => ({}) as never,
      close: async () => {},
      destroy: async () => {},
    };
    it.each<[string, object, string]>([
      ['parallelism', { parallelism: undefined }, 'undefined'],
      ['parallelism', { parallelism: '2' }, '"2"'],
      ['close', { close: undefined }, 'undefined'],
      ['destroy', { destroy: 1 }, '1'],
      ['open', { open: 'x' }, '"x"'],
    ])('is refused with a TypeError for a bad %s', (name, change, shown) => {
      const executor = { ...sound, ...change } as never;
      expectTypeError(
        caught(() => createRunner({ executor })),
        `executor.${name}`,
        shown,
      );
    });
    it('is refused with a RangeError for no parallelism at all (every call would wait)', () => {
      const executor = { ...sound, parallelism: 0 };
      expectRangeError(
        caught(() => createRunner({ executor })),
        'executor.parallelism',
        '0',
      );
    });
  });

  it('rejects threads of the wrong type with a TypeError', () => {
    expectTypeError(
      caught(() => createRunner({ threads: 'x' as never })),
      'threads',
      '"x"',
    );
  });

  it('rejects a bad maxQueue', () => {
    expectRangeError(
      caught(() => createRunner({ maxQueue: -1 })),
      'maxQueue',
      '-1',
    );
    expectRangeError(
      caught(() => createRunner({ maxQueue: 2.5 })),
      'maxQueue',
      '2.5',
    );
    expectTypeError(
      caught(() => createRunner({ maxQueue: '10' as never })),
      'maxQueue',
      '"10"',
    );
  });

  it('rejects an unknown option key, naming it', () => {
    expectRangeError(
      caught(() => createRunner({ thread: 2 } as never)),
      'Unknown key `thread` in `options`',
      'threads, executor',
    );
  });

  it('rejects options that are not an object, and a bad onError', () => {
    expectTypeError(
      caught(() => createRunner(42 as never)),
      'options',
      '42',
    );
    expectTypeError(
      caught(() => createRunner({ threads: 0, onError: 'log' as never })),
      'onError',
      '"log"',
    );
  });

  it('accepts valid options', async () => {
    const runner = makeRunner({ threads: 0, maxQueue: Number.POSITIVE_INFINITY });
    expect(runner.threads).toBe(1);
    const pool = makeRunner({ threads: 2, maxQueue: 0, idleTimeout: 1000 });
    expect(pool.threads).toBe(2);
  });
});

describe('defineTask and job', () => {
  it('rejects a relative module path, naming it', () => {
    expectRangeError(
      caught(() => defineTask('./tasks.mjs', 'double')),
      'moduleUrl',
      './tasks.mjs',
    );
  });

  it('rejects a non-file URL and a bad export name', () => {
    expectRangeError(
      caught(() => defineTask(new URL('https://example.com/tasks.mjs'))),
      'moduleUrl',
    );
    expectTypeError(
      caught(() => defineTask(42 as never)),
      'moduleUrl',
    );
    expectTypeError(
      caught(() => defineTask(fixtures, '')),
      'exportName',
    );
  });

  it('accepts an absolute path and a file: URL string', () => {
    expect(defineTask(fixtures.pathname, 'double')).toEqual({
      module: fixtures.href,
      export: 'double',
    });
    expect(defineTask(fixtures.href, 'double').module).toBe(fixtures.href);
  });

  it('rejects job() with something that is not a task', () => {
    expectTypeError(
      caught(() => job({ module: 1 } as never, 1)),
      'task',
    );
  });
});

type BadOption = [options: Record<string, unknown>, kind: 'type' | 'range', ...named: string[]];

describe.each(executors)('call options on $name', ({ options }) => {
  it.each<BadOption>([
    [{ policy: 'bogus' }, 'range', 'policy', '"bogus"'],
    [{ policy: 1 }, 'type', 'policy', '1'],
    [{ concurrency: 0 }, 'range', 'concurrency', '0'],
    [{ concurrency: 1.5 }, 'range', 'concurrency', '1.5'],
    [{ concurrency: '2' }, 'type', 'concurrency', '"2"'],
    [{ timeout: -1 }, 'range', 'timeout', '-1'],
    [{ timeout: '10' }, 'type', 'timeout', '"10"'],
    [{ retries: -1 }, 'range', 'retries', '-1'],
    [{ retries: 1.5 }, 'range', 'retries', '1.5'],
    [{ retries: 'x' }, 'type', 'retries', 'an integer from 0 and up, or an object', '"x"'],
    [{ retries: [] }, 'type', 'retries', '`[]` (array)'],
    [{ retries: { attempts: -1 } }, 'range', 'retries.attempts', '-1'],
    [{ retries: { attempts: 1, backoff: { initial: -5 } } }, 'range', 'initial', '-5'],
    [{ retries: { attempts: 1, retryOn: true } }, 'type', 'retryOn', 'true'],
    [{ signal: 'x' }, 'type', 'signal', '"x"'],
    [{ onStats: 5 }, 'type', 'onStats', '5'],
    [{ polciy: 'settle' }, 'range', 'Unknown key `polciy`'],
    [{ retries: { attempts: 1, bakcoff: {} } }, 'range', 'Unknown key `bakcoff` in `retries`'],
    // Another call's options (an options object of MapOptions' type, in a variable).
    [{ ordered: false }, 'range', '`ordered` in `options` is an option of map(), not of all()'],
    [{ order: 'fifo' }, 'range', '`order` in `options` is an option of graph(), not of all()'],
  ])('all() rejects %o', async (bad, kind, ...named) => {
    const runner = makeRunner(options);
    const { sab, cells: counter } = cells(1);
    const error = await runner.all([job(tasks.count, { sab })], bad as never).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (kind === 'type') expectTypeError(error, ...named);
    else expectRangeError(error, ...named);
    // Nothing ran.
    await expect(runner.run(tasks.double, 1)).resolves.toBe(2);
    expect(Atomics.load(counter, 0)).toBe(0);
  });

  it('run() takes a task, and nothing else in its place', async () => {
    const runner = makeRunner(options);
    for (const bad of [null, [job(tasks.double, 5)], { module: 1 }]) {
      expectTypeError(
        await runner.run(bad as never, 1).catch((e: unknown) => e),
        'run(task, input): task',
        'a task made by defineTask()',
      );
    }
    // What was received is shown by its start only, however big (arguments swapped).
    const inputs = new Array(1_000_000).fill(7);
    const error = await runner.run(inputs as never, tasks.double).catch((e: unknown) => e);
    expectTypeError(error, '`[ 7, 7, 7, 7, 7, 7, 7, 7, ... 999992 more items ]` (array)');
    expect((error as Error).message.length).toBeLessThan(200);
    const record = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i]));
    const named = await runner.run(record as never, 1).catch((e: unknown) => e);
    expectTypeError(
      named,
      "`{ k0: 0, k1: 1, k2: 2, k3: 3, k4: 4, k5: 5, k6: 6, k7: 7, '...': 'more keys' }`",
    );
  });

  it('run() takes no policy or concurrency; any() takes no policy', async () => {
    const runner = makeRunner(options);
    expectRangeError(
      await runner.run(tasks.double, 1, { policy: 'settle' } as never).catch((e: unknown) => e),
      'policy',
    );
    expectRangeError(
      await runner.run(tasks.double, 1, { concurrency: 2 } as never).catch((e: unknown) => e),
      'concurrency',
    );
    expectRangeError(
      await runner.any(tasks.double, [1], { policy: 'settle' } as never).catch((e: unknown) => e),
      'policy',
    );
  });

  it('rejects a bad job entry, naming it: jobs[0], jobs.key', async () => {
    const runner = makeRunner(options);
    expectTypeError(await runner.all([42] as never).catch((e: unknown) => e), 'jobs[0]', '42');
    expectTypeError(
      await runner.all([job(tasks.double, 1), 'nope'] as never).catch((e: unknown) => e),
      'jobs[1]',
      '"nope"',
    );
    expectTypeError(
      await runner.all({ good: job(tasks.double, 1), bad: null } as never).catch((e: unknown) => e),
      'bad',
      'null',
    );
    expectTypeError(await runner.any([42] as never).catch((e: unknown) => e), 'jobs[0]');
  });

  it('rejects inputs that are not iterable', async () => {
    const runner = makeRunner(options);
    expectTypeError(
      await runner.all(tasks.double, 42 as never).catch((e: unknown) => e),
      'inputs',
      '42',
    );
    expectTypeError(
      await runner.all(tasks.double, 'abc' as never).catch((e: unknown) => e),
      'inputs',
    );
    expectTypeError(await runner.all(42 as never).catch((e: unknown) => e), '42');
  });

  it('accepts the documented forms of each option', async () => {
    const runner = makeRunner(options);
    const controller = new AbortController();
    await expect(
      runner.all(tasks.double, [1, 2], {
        policy: 'fail-fast',
        concurrency: Number.POSITIVE_INFINITY,
        timeout: Number.POSITIVE_INFINITY,
        retries: { attempts: 1, backoff: { initial: 0, factor: 1, max: 0 }, retryOn: () => true },
        signal: controller.signal,
        onStats: () => {},
      }),
    ).resolves.toEqual([2, 4]);
  });
});
