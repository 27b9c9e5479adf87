// Under fail-fast, a chunk ends at its first item that fails for good (its last attempt):
// the items after it are not run, only cancelled, instead of running on for up to a whole
// chunk's work before the call hears of the failure. A failure that will be retried, or any
// failure under settle, lets the chunk go on.
import { describe, expect, it } from 'vitest';
import type { CallStats, Progress } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { trackRunners } from './helpers/runners.js';
import { tasks } from './helpers/tasks.js';

const createRunner = trackRunners();

/** One chunk of ten items whose second fails; every item counts itself on `sab` as it runs. */
const inputs = (sab: SharedArrayBuffer) =>
  Array.from({ length: 10 }, (_, i) => ({ sab, fail: i === 1 }));

const ran = (sab: SharedArrayBuffer) => new Int32Array(sab)[0];

describe.each(executors)('a chunk under fail-fast, on $name', ({ name, options }) => {
  it('ends at the failing item: those after it are cancelled, never run', async () => {
    const runner = createRunner(options);
    const sab = new SharedArrayBuffer(4);
    let stats: CallStats | undefined;
    let last: Progress | undefined;
    await expect(
      runner.all(tasks.countOrFail, inputs(sab), {
        chunkSize: 10,
        onStats: (s) => {
          stats = s;
        },
        onProgress: (p) => {
          last = p;
        },
      }),
    ).rejects.toMatchObject({ code: 'ERR_TASK_FAILED', job: 1 });
    expect(ran(sab)).toBe(2);
    expect(stats).toMatchObject({ jobs: 10, fulfilled: 1, rejected: 1, cancelled: 8, attempts: 2 });
    expect(last).toMatchObject({ done: 1, failed: 9, total: 10 });
  });

  it('ends a map at the failing item too, after yielding the items before it', async () => {
    // (One thread: a map reads as it goes, so its first chunks may hold fewer items than
    // chunkSize, and on two threads the next would run beside them.)
    const runner = createRunner(name === 'threads' ? { threads: 1 } : options);
    const sab = new SharedArrayBuffer(4);
    const got: number[] = [];
    await expect(async () => {
      for await (const value of runner.map(tasks.countOrFail, inputs(sab), { chunkSize: 10 })) {
        got.push(value);
      }
    }).rejects.toMatchObject({ code: 'ERR_TASK_FAILED', job: 1 });
    expect(got).toEqual([1]);
    expect(ran(sab)).toBe(2);
  });

  it('goes on past a failure that will be retried', async () => {
    const runner = createRunner(options);
    const sab = new SharedArrayBuffer(4);
    await expect(
      runner.all(tasks.countOrFail, inputs(sab), { chunkSize: 10, retries: 1 }),
    ).rejects.toMatchObject({ code: 'ERR_TASK_FAILED', job: 1, attempts: 2 });
    // All ten ran once; the failing one ran again, failed for good and stopped the call.
    expect(ran(sab)).toBe(11);
  });

  it('goes on past a failure under settle', async () => {
    const runner = createRunner(options);
    const sab = new SharedArrayBuffer(4);
    const report = await runner.all(tasks.countOrFail, inputs(sab), {
      chunkSize: 10,
      policy: 'settle',
    });
    expect(report.counts).toEqual({ total: 10, fulfilled: 9, rejected: 1 });
    expect(ran(sab)).toBe(10);
  });
});
