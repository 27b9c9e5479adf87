// A callback of the caller that throws (onProgress, onTaskProgress, onStats, onTrace)
// fails the call with that error, by every kind of call: it is neither swallowed nor
// allowed to lose results on the way, and the runner stays usable.
import { describe, expect, it } from 'vitest';
import { defineTask, type Runner } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { trackRunners } from './helpers/runners.js';

const double = defineTask<number, number>(
  new URL('./fixtures/tasks.mjs', import.meta.url),
  'double',
);
const failIfOdd = defineTask<number, number>(
  new URL('./fixtures/tasks.mjs', import.meta.url),
  'failIfOdd',
);
const withProgress = defineTask<{ steps: number; every: number }, number>(
  new URL('./fixtures/buffer-tasks.mjs', import.meta.url),
  'countWithProgress',
);
const createRunner = trackRunners();
const inputs = Array.from({ length: 300 }, (_, i) => i);

class CallbackBug extends Error {}
const boom = () => {
  throw new CallbackBug('the callback threw');
};

const callbacks = ['onProgress', 'onStats', 'onTrace'] as const;

type Call = (runner: Runner, options: Record<string, unknown>) => Promise<unknown>;
const calls: { name: string; call: Call }[] = [
  { name: 'all', call: (r, o) => r.all(double, inputs, o) },
  { name: 'all (settle)', call: (r, o) => r.all(double, inputs, { ...o, policy: 'settle' }) },
  { name: 'map().toArray()', call: (r, o) => r.map(double, inputs, o).toArray() },
  {
    name: 'for await of map()',
    call: async (r, o) => {
      const out: number[] = [];
      for await (const v of r.map(double, inputs, o)) out.push(v);
      return out;
    },
  },
  {
    name: 'graph',
    call: (r, o) =>
      r.graph({ a: { task: double, input: 1 }, b: { task: double, input: 2, deps: ['a'] } }, o),
  },
];

describe.each(executors)('callbacks that throw on $name', ({ options }) => {
  describe.each(calls)('$name', ({ call }) => {
    it.each(callbacks)('fails the call with what %s threw', async (name) => {
      const runner = createRunner(options);
      await expect(call(runner, { [name]: boom })).rejects.toBeInstanceOf(CallbackBug);
      // Nothing was left broken: the same call without the callback completes.
      await expect(call(runner, {})).resolves.toBeDefined();
    });

    it('fails with the first callback that threw, and still traces the call once', async () => {
      const runner = createRunner(options);
      class Second extends Error {}
      let traces = 0;
      const failed = call(runner, {
        onProgress: boom,
        onStats: () => {
          throw new Second('onStats threw after onProgress');
        },
        onTrace: () => {
          traces++;
        },
      });
      await expect(failed).rejects.toBeInstanceOf(CallbackBug);
      expect(traces).toBe(1);
    });
  });

  it.each(['onProgress', 'onStats'] as const)(
    'throws what %s threw from a map loop left by break',
    async (name) => {
      const runner = createRunner(options);
      const left = async () => {
        for await (const value of runner.map(double, inputs, { [name]: boom })) {
          if (value === 0) break;
        }
      };
      await expect(left()).rejects.toBeInstanceOf(CallbackBug);
      // A loop left by its own throw keeps its own error.
      class Own extends Error {}
      const thrown = async () => {
        for await (const _ of runner.map(double, inputs, { [name]: boom })) throw new Own();
      };
      await expect(thrown()).rejects.toBeInstanceOf(Own);
      // And a loop left by break with no callback that threw ends quietly.
      let seen = 0;
      for await (const _ of runner.map(double, inputs, { [name]: () => {} })) {
        if (++seen === 3) break;
      }
      expect(seen).toBe(3);
    },
  );

  it('tells the end of a call whose inputs threw, as any call ends', async () => {
    const runner = createRunner(options);
    const boom = new Error('source boom');
    function* inputs(): Generator<number> {
      yield 1;
      throw boom;
    }
    const told: string[] = [];
    const ends = (name: string) => ({
      onProgress: (p: { done: number; total?: number | undefined }) =>
        told.push(`${name} progress ${p.done}/${p.total}`),
      onStats: (s: { jobs: number }) => told.push(`${name} stats ${s.jobs}`),
      onTrace: () => told.push(`${name} trace`),
    });
    await expect(runner.all(double, inputs(), ends('all'))).rejects.toBe(boom);
    await expect(runner.any(double, inputs(), ends('any'))).rejects.toBe(boom);
    const errors: unknown[] = [];
    const spawner = createRunner({ ...options, onError: (e) => errors.push(e) });
    spawner.spawn(double, inputs(), ends('spawn'));
    await spawner.idle();
    expect(errors).toEqual([boom]);
    expect(told).toEqual(
      ['all', 'any', 'spawn'].flatMap((n) => [`${n} progress 0/0`, `${n} stats 0`, `${n} trace`]),
    );
    // Told after the call returned its promise, as every call's end.
    let returned = false;
    let toldAfter: boolean | undefined;
    const late = runner.all(double, inputs(), { onStats: () => (toldAfter = returned) });
    returned = true;
    await expect(late).rejects.toBe(boom);
    expect(toldAfter).toBe(true);
    // A spawn's callback that threw there is reported too, beside the inputs' error.
    const both: unknown[] = [];
    const reporting = createRunner({ ...options, onError: (e) => both.push(e) });
    reporting.spawn(double, inputs(), {
      onStats: () => {
        throw new CallbackBug('onStats threw after the inputs did');
      },
    });
    await reporting.idle();
    expect(both).toHaveLength(2);
    expect(both[0]).toBe(boom);
    expect(both[1]).toBeInstanceOf(CallbackBug);
    // A closed runner reads nothing and tells no end: it is closed.
    const closed = createRunner(options);
    await closed.close();
    let read = false;
    function* noticed(): Generator<number> {
      read = true;
      yield 1;
    }
    const heard: string[] = [];
    await expect(
      closed.all(double, noticed(), { onStats: () => heard.push('stats') }),
    ).rejects.toMatchObject({ code: 'ERR_RUNNER_CLOSED' });
    expect(read).toBe(false);
    expect(heard).toEqual([]);
    // The inputs' error came first: a callback that throws then does not replace it.
    await expect(
      runner.all(double, inputs(), {
        onStats: () => {
          throw new CallbackBug('onStats threw after the inputs did');
        },
      }),
    ).rejects.toBe(boom);
  });

  it('fails all() with what onTaskProgress threw', async () => {
    const runner = createRunner(options);
    const jobs = [{ steps: 10, every: 2 }];
    await expect(runner.all(withProgress, jobs, { onTaskProgress: boom })).rejects.toBeInstanceOf(
      CallbackBug,
    );
  });

  it('hands what a spawn() callback threw to onError', async () => {
    const errors: unknown[] = [];
    const runner = createRunner({ ...options, onError: (e) => errors.push(e) });
    runner.spawn(double, inputs, { onStats: boom });
    await runner.idle();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(CallbackBug);
  });

  it("hands a spawn()'s job failures to onError too when one of its callbacks threw", async () => {
    const errors: unknown[] = [];
    const runner = createRunner({ ...options, onError: (e) => errors.push(e) });
    runner.spawn(failIfOdd, [1, 2, 3], { onStats: boom });
    await runner.idle();
    expect(errors.filter((e) => e instanceof CallbackBug)).toHaveLength(1);
    expect(errors.filter((e) => (e as { code?: string }).code === 'ERR_TASK_FAILED')).toHaveLength(
      2,
    );
  });
});
