// A call with a timeout still sends its items in chunks (where this package's executors run
// them): each item is timed out on its own, by a clock its thread shares with the scheduler.
// The item that runs past the timeout fails with ERR_TASK_TIMEOUT; the other items of its
// chunk run again or for the first time, and end as they would have.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InlineExecutor } from '../src/executors/inline.js';
import { ThreadsExecutor } from '../src/executors/threads.js';
import {
  type CallStats,
  defineTask,
  type JobOutcome,
  type TaskRequest,
  TaskTimeoutError,
} from '../src/index.js';
import { trackRunners } from './helpers/runners.js';
import { tasks } from './helpers/tasks.js';

interface Slow {
  value: number;
  busy?: number;
  hang?: 'spin' | 'never';
  hangUntil?: number;
  fail?: boolean;
}
const slowAt = defineTask<Slow, number>(
  new URL('./fixtures/chunk-tasks.mjs', import.meta.url),
  'slowAt',
);
const createRunner = trackRunners();

/** The number of items in each request the executors were given. */
function requestSizes(): number[] {
  const sizes: number[] = [];
  for (const Executor of [ThreadsExecutor, InlineExecutor]) {
    const execute = Executor.prototype.execute;
    vi.spyOn(Executor.prototype, 'execute').mockImplementation(function (
      this: InstanceType<typeof Executor>,
      request: TaskRequest,
      options,
    ) {
      sizes.push(request.inputs.length);
      return execute.call(this, request, options as never);
    });
  }
  return sizes;
}
afterEach(() => {
  vi.restoreAllMocks();
});

const values = (outcomes: readonly JobOutcome<number>[]) =>
  outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as { code: string }).code));

const cases = [
  { name: 'threads', options: { threads: 2 }, hang: 'spin' },
  { name: 'inline', options: { threads: 0 }, hang: 'never' },
] as const;

describe.each(cases)('timeouts in chunks on $name', ({ options, hang }) => {
  it('fails only the item that ran past the timeout; its chunk-mates end as they would', async () => {
    const sizes = requestSizes();
    const runner = createRunner(options);
    const inputs: Slow[] = Array.from({ length: 64 }, (_, value) =>
      value === 37 ? { value, hang } : { value },
    );
    const report = await runner.all(slowAt, inputs, {
      timeout: 300,
      chunkSize: 16,
      policy: 'settle',
    });
    expect(values(report.results)).toEqual(
      inputs.map(({ value }) => (value === 37 ? 'ERR_TASK_TIMEOUT' : value)),
    );
    expect(report.results[37]).toMatchObject({ status: 'rejected', attempts: 1 });
    expect(Math.max(...sizes)).toBe(16);
  });

  it('times each item from its own start: a chunk may run longer than the timeout', async () => {
    const sizes = requestSizes();
    const runner = createRunner(options);
    const inputs = Array.from({ length: 8 }, (_, value) => ({ value, busy: 60 }));
    await expect(runner.all(slowAt, inputs, { timeout: 250, chunkSize: 8 })).resolves.toEqual(
      inputs.map(({ value }) => value),
    );
    expect(sizes).toEqual([8]);
  });

  it('fails a fail-fast call with the timeout of the item that ran past it', async () => {
    const runner = createRunner(options);
    const inputs: Slow[] = Array.from({ length: 32 }, (_, value) =>
      value === 5 ? { value, hang } : { value },
    );
    const error = await runner
      .all(slowAt, inputs, { timeout: 200, chunkSize: 8 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect(error).toMatchObject({ job: 5, timeout: 200, attempts: 1 });
  });

  it('retries the item that timed out, on its own terms', async () => {
    const runner = createRunner(options);
    const inputs: Slow[] = Array.from({ length: 24 }, (_, value) =>
      value === 9 ? { value, hang, hangUntil: 1 } : { value },
    );
    const report = await runner
      .map(slowAt, inputs, {
        timeout: 200,
        chunkSize: 8,
        retries: 1,
        policy: 'settle',
      })
      .toArray();
    expect(values(report)).toEqual(inputs.map(({ value }) => value));
    expect(report[9]).toMatchObject({ status: 'fulfilled', attempts: 2 });
    expect(report[8]).toMatchObject({ status: 'fulfilled', attempts: 1 });
  });
});

describe('timeouts in chunks on threads', () => {
  it('fails the other items of a chunk given up as cancelled when the call stops meanwhile', async () => {
    const runner = createRunner({ threads: 2 });
    const inputs: Slow[] = Array.from({ length: 20 }, (_, value) =>
      value % 10 === 0 ? { value, hang: 'spin' } : { value },
    );
    let stats: CallStats | undefined;
    await expect(
      runner.all(slowAt, inputs, { timeout: 100, chunkSize: 10, onStats: (s) => (stats = s) }),
    ).rejects.toBeInstanceOf(TaskTimeoutError);
    // The two items that spun, no more (a chunk given up as the call stopped counted all of
    // its items as timed out).
    expect(stats!.rejected).toBeLessThanOrEqual(2);
    expect(stats!.fulfilled + stats!.rejected + stats!.cancelled).toBe(20);
  });

  it('lets a stopped call end its chunks after their items, keeping the threads', async () => {
    const runner = createRunner({ threads: 2 });
    const threadsNow = async () => {
      const sab = new SharedArrayBuffer(4);
      const ids = await runner.all(tasks.barrier, [
        { sab, parties: 2 },
        { sab, parties: 2 },
      ]);
      return new Set(ids);
    };
    const before = await threadsNow();
    const inputs: Slow[] = Array.from({ length: 4000 }, (_, value) => ({
      value,
      busy: 0.05,
      fail: value === 3000,
    }));
    await expect(runner.all(slowAt, inputs, { timeout: 5000 })).rejects.toMatchObject({
      code: 'ERR_TASK_FAILED',
      job: 3000,
    });
    expect(await threadsNow()).toEqual(before);
  });

  it('keeps the items of a chunk within what its clock holds (9.3 hours from its sending)', async () => {
    const sizes = requestSizes();
    const runner = createRunner({ threads: 2 });
    const inputs = Array.from({ length: 120 }, (_, value) => ({ value }));
    // 10 minutes a timeout: 55 items may all start within the clock's span.
    await runner.all(slowAt, inputs, { timeout: 600_000, chunkSize: 100 });
    expect(Math.max(...sizes)).toBe(55);
    sizes.length = 0;
    // 20 days: none but the first would; each item goes alone.
    await runner.all(slowAt, inputs, { timeout: 20 * 86_400_000, chunkSize: 100 });
    expect(Math.max(...sizes)).toBe(1);
  });
});

describe('timeouts in chunks where nothing can stop a task', () => {
  it('fails an item that threw after running past the timeout as timed out, as one sent alone', async () => {
    const runner = createRunner({ threads: 0 });
    const inputs: Slow[] = Array.from({ length: 4 }, (_, value) =>
      value === 1 ? { value, busy: 120, fail: true } : { value },
    );
    for (const chunkSize of [1, 4]) {
      const report = await runner.all(slowAt, inputs, {
        timeout: 40,
        chunkSize,
        policy: 'settle',
      });
      expect(values(report.results)).toEqual([0, 'ERR_TASK_TIMEOUT', 2, 3]);
    }
  });

  it('fails an item that answered past the timeout, and only it', async () => {
    const runner = createRunner({ threads: 0 });
    const inputs: Slow[] = Array.from({ length: 6 }, (_, value) =>
      value === 2 ? { value, busy: 120 } : { value },
    );
    const report = await runner.all(slowAt, inputs, {
      timeout: 40,
      chunkSize: 6,
      policy: 'settle',
    });
    expect(values(report.results)).toEqual([0, 1, 'ERR_TASK_TIMEOUT', 3, 4, 5]);
  });
});
