// close() finishes the work under way and then takes no more; destroy() stops everything
// now; `await using` closes; a script that never closes its runner still exits.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { FanoutError, job, type Runner, RunnerClosedError } from '../src/index.js';
import { executors, threads } from './helpers/executors.js';
import { cells, deferred, reached, release, started } from './helpers/latches.js';
import { trackRunners } from './helpers/runners.js';
import { tasks } from './helpers/tasks.js';

const createRunner = trackRunners();
const run = promisify(execFile);

/** Handles the rejection at once, so a call that rejects while we wait is not unhandled. */
function outcome(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => undefined,
    (e: unknown) => e,
  );
}

function expectClosedError(error: unknown): void {
  expect(error).toBeInstanceOf(RunnerClosedError);
  expect(error).toBeInstanceOf(FanoutError);
  expect(error).toMatchObject({ code: 'ERR_RUNNER_CLOSED' });
}

async function expectClosed(call: Promise<unknown>): Promise<void> {
  expectClosedError(await outcome(call));
}

describe.each(executors)('lifecycle on $name', ({ options }) => {
  it('close() waits for work under way, then resolves; new calls reject at once', async () => {
    const runner = createRunner(options);
    const held = cells(2);
    const events: string[] = [];
    const call = runner.run(tasks.holdAsync, { sab: held.sab, index: 0, value: 'done' });
    void call.then(() => events.push('call'));
    await started(held.cells, 0);
    const closing = runner.close();
    void closing.then(() => events.push('close'));
    // While closing, the runner takes no new work, of any form.
    await expectClosed(runner.run(tasks.double, 1));
    await expectClosed(runner.all(tasks.double, [1]));
    await expectClosed(runner.all([async () => 1]));
    await expectClosed(runner.any(tasks.double, [1]));
    events.push('released');
    release(held.cells, 0);
    await expect(call).resolves.toBe('done');
    await closing;
    expect(events).toEqual(['released', 'call', 'close']);
    await expectClosed(runner.run(tasks.double, 1));
    await expectClosed(runner.all(tasks.double, [1], { policy: 'settle' }));
  });

  it('close() waits for main-thread functions under way', async () => {
    const runner = createRunner(options);
    const gate = deferred();
    let finished = false;
    const call = runner.all([
      async () => {
        await gate.promise;
        finished = true;
        return 'ok';
      },
    ]);
    const closing = runner.close();
    gate.resolve();
    await closing;
    expect(finished).toBe(true);
    await expect(call).resolves.toEqual(['ok']);
  });

  it('close() called while a call starts waits for that call', async () => {
    const runner = createRunner(options);
    let closed: Promise<void> | undefined;
    const report = await runner.all(
      [
        async () => {
          closed = runner.close(); // runs as the call starts, before all() has returned
          return 'closing';
        },
        job(tasks.double, 21),
      ],
      { policy: 'settle' },
    );
    expect(report.results).toMatchObject([
      { status: 'fulfilled', value: 'closing' },
      { status: 'fulfilled', value: 42 },
    ]);
    await closed;
    const again = createRunner(options);
    function* source(): Generator<number> {
      closed = again.close(); // read as the map starts
      yield 1;
      yield 2;
    }
    const values = await again.map(tasks.double, source(), { policy: 'settle' }).toArray();
    expect(values).toMatchObject([
      { status: 'fulfilled', value: 2 },
      { status: 'fulfilled', value: 4 },
    ]);
    await closed;
  });

  it('close() can be called again and after the runner closed', async () => {
    const runner = createRunner(options);
    await expect(runner.run(tasks.double, 1)).resolves.toBe(2);
    await Promise.all([runner.close(), runner.close()]);
    await expect(runner.close()).resolves.toBeUndefined();
  });

  it('destroy() makes a call under way reject with ERR_RUNNER_CLOSED', async () => {
    const runner = createRunner(options);
    const held = cells(2);
    const call = outcome(runner.all([job(tasks.holdAsync, { sab: held.sab, index: 0 })]));
    await started(held.cells, 0);
    await runner.destroy();
    expectClosedError(await call);
    await expectClosed(runner.run(tasks.double, 1));
  });

  it('destroy() rejects settle calls and queued jobs too', async () => {
    const runner = createRunner(options);
    const held = cells(2 * runner.threads);
    const gate = deferred();
    const settle = outcome(
      runner.all(
        [
          ...Array.from({ length: runner.threads }, (_, index) =>
            job(tasks.holdAsync, { sab: held.sab, index }),
          ),
          job(tasks.double, 1),
          () => gate.promise,
        ],
        { policy: 'settle' },
      ),
    );
    for (let i = 0; i < runner.threads; i++) await started(held.cells, i);
    await runner.destroy();
    expectClosedError(await settle);
  });

  it('`await using` closes the runner at the end of the block', async () => {
    let escaped: Runner | undefined;
    {
      await using runner = createRunner(options);
      escaped = runner;
      await expect(runner.run(tasks.double, 2)).resolves.toBe(4);
    }
    await expectClosed(escaped.run(tasks.double, 1));
  });

  it('`await using` waits for work started in the block', async () => {
    const gate = deferred();
    let finished = false;
    let escaped: Runner | undefined;
    {
      await using runner = createRunner(options);
      escaped = runner;
      runner.spawn([
        async () => {
          await gate.promise;
          finished = true;
        },
      ]);
      gate.resolve();
    }
    expect(finished).toBe(true);
    await expectClosed(escaped.run(tasks.double, 1));
  });
});

describe('lifecycle on threads', () => {
  it('destroy() stops a task that never yields', async () => {
    const runner = createRunner(threads.options);
    const spin = cells(2);
    const call = outcome(runner.run(tasks.spinForever, { sab: spin.sab }));
    await reached(spin.cells, 1);
    await runner.destroy();
    expectClosedError(await call);
    // The thread is gone: the counter no longer moves (another runner's round trip later).
    const before = Atomics.load(spin.cells, 0);
    const other = createRunner(threads.options);
    await expect(other.run(tasks.double, 1)).resolves.toBe(2);
    expect(Atomics.load(spin.cells, 0)).toBe(before);
  });

  it('destroy() stops a task blocked in Atomics.wait', async () => {
    const runner = createRunner(threads.options);
    const held = cells(2);
    const call = outcome(runner.run(tasks.hold, { sab: held.sab, index: 0 }));
    await started(held.cells, 0);
    await runner.destroy();
    expectClosedError(await call);
  });
});

describe('threads that end when idle (idleTimeout)', () => {
  // Thread ids count up across the process as threads are made: a runner's threads made
  // with it have ids below those of a runner made after it.
  it('start as work comes, not with the runner', async () => {
    const eager = createRunner({ threads: 1 });
    const lazy = createRunner({ threads: 1, idleTimeout: 60_000 });
    const later = createRunner({ threads: 1 });
    const [first, last] = [
      await eager.run(tasks.whoAmI, null),
      await later.run(tasks.whoAmI, null),
    ];
    expect(last).toBeGreaterThan(first);
    // Made only now, for this call: after the runner made after it.
    expect(await lazy.run(tasks.whoAmI, null)).toBeGreaterThan(last);
  });

  // Node's timers wait at most 2^31 - 1 ms: a longer one fires after 1 ms, with a warning.
  it.each([3_000_000_000, Number.POSITIVE_INFINITY])(
    'takes an idle time longer than a timer can wait as the longest (%d)',
    async (idleTimeout) => {
      const warnings: Error[] = [];
      const hear = (warning: Error) => warnings.push(warning);
      process.on('warning', hear);
      try {
        const runner = createRunner({ threads: 1, idleTimeout });
        const first = await runner.run(tasks.whoAmI, null);
        await new Promise((resolve) => setImmediate(resolve)); // (warnings come a tick late)
        await new Promise((resolve) => setImmediate(resolve));
        expect(warnings.map((w) => w.name)).not.toContain('TimeoutOverflowWarning');
        expect(await runner.run(tasks.whoAmI, null)).toBe(first);
      } finally {
        process.off('warning', hear);
      }
    },
  );

  // With 0, threads end whenever they are idle, and start again for the next call.
  it('still run every call right, then close', async () => {
    const runner = createRunner({ threads: 2, idleTimeout: 0 });
    const inputs = Array.from({ length: 2000 }, (_, i) => i);
    for (let round = 0; round < 3; round++) {
      expect(await runner.map(tasks.double, inputs).toArray()).toEqual(inputs.map((x) => 2 * x));
      expect(await runner.all(tasks.double, [1, 2, 3], { chunkSize: 1 })).toEqual([2, 4, 6]);
      expect(await runner.run(tasks.double, round)).toBe(2 * round);
    }
    await runner.close();
  });
});

describe('a call that stops while its chunks of short items run', () => {
  // Each stopped chunk ends after the item it runs and answers: its thread is kept (ids
  // count up as threads are made), where terminating it cost a new thread per stop.
  it('keeps its threads: a map left early, a fail-fast call', async () => {
    const runner = createRunner({ threads: 2 });
    const short = Array.from({ length: 4000 }, () => 5000);
    await runner.all(tasks.cpu, short); // items known as short from here on
    const threadIds = async () =>
      new Set(await runner.all(tasks.whoAmI, [0, 0, 0, 0, 0, 0, 0, 0], { chunkSize: 1 }));
    const before = await threadIds();
    let taken = 0;
    for await (const _ of runner.map(tasks.cpu, short)) if (++taken === 100) break;
    const failing = [...short.slice(0, 1000), -1, ...short];
    await expect(
      runner.all(
        tasks.cpuOrFail,
        failing.map((n) => ({ n, fail: n < 0 })),
      ),
    ).rejects.toMatchObject({ code: 'ERR_TASK_FAILED' });
    const after = await threadIds();
    expect(Math.max(...after)).toBeLessThanOrEqual(Math.max(...before));
  });
});

describe('a long-lived runner', () => {
  // Each attempt with a timeout gives its worker a port of its own (to say when the task
  // starts): once the attempt is over, the port must go from the worker's heap. They
  // stayed (~1 KB an attempt, until the worker ran out of memory) while idle workers
  // waited in Atomics.wait, whose event loop never turned between tasks.
  it("keeps a worker's heap flat over thousands of attempts with a timeout", async () => {
    const runner = createRunner({ threads: 1 });
    const options = { timeout: 60_000 };
    for (let i = 0; i < 200; i++) await runner.run(tasks.double, i, options);
    const before = await runner.run(tasks.heapAfterGc, null);
    for (let i = 0; i < 3000; i++) await runner.run(tasks.double, i, options);
    const grown = (await runner.run(tasks.heapAfterGc, null)) - before;
    expect(grown).toBeLessThan(2 ** 20); // it grew 3.5 MiB
  });
});

describe('runners made and closed one after another', () => {
  // Piscina's close() keeps its pool 30 s by a timer it never clears: 100 closed runners
  // held 2.2 MiB that long.
  it('leave nothing of theirs on the heap once closed', async () => {
    const script = fileURLToPath(new URL('./fixtures/runner-cycles.mjs', import.meta.url));
    const { stdout } = await run(process.execPath, ['--expose-gc', script, '100']);
    expect(Number(stdout)).toBeLessThan(2 ** 20);
  });
});

describe('a script that never closes its runner', () => {
  const script = fileURLToPath(new URL('./fixtures/exits-without-close.mjs', import.meta.url));
  const expected = {
    doubled: [2, 4, 6],
    counts: { total: 2, fulfilled: 1, rejected: 1 },
    first: 4,
    timedOut: 'ERR_TASK_TIMEOUT',
  };

  it.each([
    ['threads (default count)', []],
    ['2 threads', ['2']],
    ['inline', ['0']],
  ])('exits by itself with code 0: %s', async (_name, args) => {
    // execFile rejects on a non-zero exit code; a hang is caught by the test's timeout.
    const { stdout } = await run(process.execPath, [script, ...args]);
    expect(JSON.parse(stdout)).toEqual(expected);
  });
});
