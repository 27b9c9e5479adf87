// Inputs and errors that throw when they are read: a revoked proxy, a proxy whose traps
// throw, a record whose getter throws, an error whose getter throws. Each fails only its
// own item, with what really went wrong, and the call still ends: none may hang it, blame
// its chunk-mates, or run them twice.
import { describe, expect, it } from 'vitest';
import { defineTask, type JobOutcome } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { cells } from './helpers/latches.js';
import { trackRunners } from './helpers/runners.js';
import { tasks } from './helpers/tasks.js';

const failAwkwardly = defineTask<
  { sab: SharedArrayBuffer; index: number; how: 'ok' | 'getter' | 'toString' },
  number
>(new URL('./fixtures/hostile-tasks.mjs', import.meta.url), 'failAwkwardly');

const createRunner = trackRunners();

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Each outcome as its value, or as the code it failed with. */
const summary = (results: readonly JobOutcome<unknown>[]) =>
  results.map((r) => (r.status === 'fulfilled' ? r.value : r.reason.code));

function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({ a: 7 }, {});
  revoke();
  return proxy;
}

function throwingProxy(): object {
  return new Proxy(
    { a: 7 },
    {
      get() {
        throw new Error('the get trap ran');
      },
    },
  );
}

/** A record `{ a: i, g: i }` whose enumerable getter `g` throws when `bad`. */
function record(i: number, bad: boolean): { a: number; g: number } {
  return Object.defineProperty({ a: i } as { a: number; g: number }, 'g', {
    enumerable: true,
    get() {
      if (bad) throw new Error(`getter of record ${i} threw`);
      return i;
    },
  });
}

// 16 records with the same keys: in a chunk of 64 (all 16) they go by column; in chunks
// of 3 (and 1) they go as they are.
const SIZES = [1, 3, 64];
const N = 16;
const BAD = 7;

// The inline executor structured-clones its inputs too, so it must behave the same.
describe.each(executors)('hostile inputs on $name', ({ options }) => {
  describe.each([
    { what: 'a revoked proxy', make: revokedProxy },
    { what: 'a proxy whose get trap throws', make: throwingProxy },
  ])('$what among the inputs', ({ make }) => {
    const inputs = (): unknown[] => {
      const list: unknown[] = range(N).map((a) => ({ a }));
      list[BAD] = make();
      return list;
    };
    const expected = range(N).map((a) => (a === BAD ? 'ERR_DATA_CLONE' : { a }));

    it.each(SIZES)(
      'fails only that item with ERR_DATA_CLONE (settle, chunkSize %i)',
      async (chunkSize) => {
        const runner = createRunner(options);
        const report = await runner.all(tasks.echo, inputs(), { policy: 'settle', chunkSize });
        expect(summary(report.results)).toEqual(expected);
        expect(report.results[BAD]).toMatchObject({
          status: 'rejected',
          reason: { code: 'ERR_DATA_CLONE', job: BAD },
        });
      },
    );

    it.each(SIZES)('fails fast naming that job (chunkSize %i)', async (chunkSize) => {
      const runner = createRunner(options);
      await expect(runner.all(tasks.echo, inputs(), { chunkSize })).rejects.toMatchObject({
        code: 'ERR_DATA_CLONE',
        job: BAD,
      });
    });

    it.each(SIZES)('fails only that item of a map (chunkSize %i)', async (chunkSize) => {
      const runner = createRunner(options);
      const results = await runner
        .map(tasks.echo, inputs(), { policy: 'settle', chunkSize })
        .toArray();
      expect(summary(results)).toEqual(expected);
      await expect(runner.map(tasks.echo, inputs(), { chunkSize }).toArray()).rejects.toMatchObject(
        { code: 'ERR_DATA_CLONE', job: BAD },
      );
    });
  });

  it('runs no trap of a live proxy among the inputs, as cloning runs none', async () => {
    const runner = createRunner(options);
    const traps: string[] = [];
    // A handler that records every trap asked of it before doing what the trap would.
    const handler = new Proxy({} as ProxyHandler<object>, {
      get:
        (_, name) =>
        (...args: unknown[]) => {
          traps.push(String(name));
          return (Reflect as unknown as Record<string, (...a: unknown[]) => unknown>)[
            String(name)
          ]!(...args);
        },
    });
    const inputs = (): unknown[] => {
      const list: unknown[] = range(N).map((a) => ({ a }));
      list[BAD] = new Proxy({ a: BAD }, handler);
      return list;
    };
    // The handler works: reading through the proxy runs its traps.
    expect((inputs()[BAD] as { a: number }).a).toBe(BAD);
    expect(traps).toContain('get');
    traps.length = 0;
    const expected = range(N).map((a) => (a === BAD ? 'ERR_DATA_CLONE' : { a }));
    for (const chunkSize of SIZES) {
      const report = await runner.all(tasks.echo, inputs(), { policy: 'settle', chunkSize });
      expect(summary(report.results)).toEqual(expected);
      await expect(runner.all(tasks.echo, inputs(), { chunkSize })).rejects.toMatchObject({
        code: 'ERR_DATA_CLONE',
        job: BAD,
      });
      const mapped = await runner
        .map(tasks.echo, inputs(), { policy: 'settle', chunkSize })
        .toArray();
      expect(summary(mapped)).toEqual(expected);
    }
    expect(traps).toEqual([]);
  });

  describe('a record whose getter throws', () => {
    const inputs = () => range(N).map((i) => record(i, i === 5));

    it.each([3, 64])(
      'fails only that record with ERR_DATA_CLONE and the getter’s error (settle, chunkSize %i)',
      async (chunkSize) => {
        const runner = createRunner(options);
        const report = await runner.all(tasks.echo, inputs(), { policy: 'settle', chunkSize });
        expect(summary(report.results)).toEqual(
          range(N).map((i) => (i === 5 ? 'ERR_DATA_CLONE' : { a: i, g: i })),
        );
        const bad = report.results[5]!;
        expect(bad.status).toBe('rejected');
        if (bad.status !== 'rejected') return;
        expect(bad.reason).toMatchObject({ code: 'ERR_DATA_CLONE', job: 5 });
        expect(bad.reason.message).toContain('getter of record 5 threw');
      },
    );

    it.each([3, 64])('fails fast naming that record (chunkSize %i)', async (chunkSize) => {
      const runner = createRunner(options);
      const error = await runner.all(tasks.echo, inputs(), { chunkSize }).catch((e) => e);
      expect(error).toMatchObject({ code: 'ERR_DATA_CLONE', job: 5 });
      expect(error.message).toContain('getter of record 5 threw');
    });
  });

  describe('a task error that throws when it is read', () => {
    const FAILS = 2;
    it.each([
      {
        how: 'getter' as const,
        what: 'an Error with an enumerable getter that throws',
        cause: { name: 'Error', message: 'real problem' },
      },
      {
        how: 'toString' as const,
        what: 'a non-Error object whose toString throws',
        cause: { name: 'NonErrorThrown' },
      },
    ])(
      'fails only its item with ERR_TASK_FAILED when the task throws $what, running each item once',
      async ({ how, cause }) => {
        const runner = createRunner(options);
        const counts = cells(8);
        const inputs = range(8).map((index) => ({
          sab: counts.sab,
          index,
          how: index === FAILS ? how : ('ok' as const),
        }));
        // All 8 in one chunk.
        const report = await runner.all(failAwkwardly, inputs, { policy: 'settle', chunkSize: 8 });
        expect(summary(report.results)).toEqual(
          range(8).map((i) => (i === FAILS ? 'ERR_TASK_FAILED' : i)),
        );
        const bad = report.results[FAILS]!;
        expect(bad.status).toBe('rejected');
        if (bad.status !== 'rejected') return;
        expect(bad.reason).toMatchObject({
          code: 'ERR_TASK_FAILED',
          job: FAILS,
          attempts: 1,
          cause,
        });
        if (how === 'getter') expect(bad.reason.message).toContain('real problem');
        // No item ran twice: the chunk was not taken for one that crashed its worker.
        expect(Array.from(counts.cells)).toEqual(range(8).map(() => 1));
      },
    );
  });
});
