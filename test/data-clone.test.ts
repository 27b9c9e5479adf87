// ERR_DATA_CLONE: an input or output that cannot be structured-cloned between threads.
// The inline executor clones too, so a task fails the same way on both.
import { describe, expect, it } from 'vitest';
import { DataCloneError, job, TaskError } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { trackRunners } from './helpers/runners.js';
import { fixtures, tasks } from './helpers/tasks.js';

const createRunner = trackRunners();

describe.each(executors)('ERR_DATA_CLONE on $name', ({ options }) => {
  it('rejects an input that cannot be cloned (a function inside it), naming the job', async () => {
    const runner = createRunner(options);
    const error = await runner
      .all({ fine: job(tasks.echo, { n: 1 }), withFn: job(tasks.echo, { n: 2, fn: () => 1 }) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataCloneError);
    expect(error).toBeInstanceOf(TaskError);
    expect(error).toMatchObject({
      code: 'ERR_DATA_CLONE',
      job: 'withFn',
      task: { module: fixtures.href, export: 'echo' },
    });
    expect((error as Error).message).toContain('withFn');
  });

  it('gives an Error as its cause when the getter of an input throws what is none', async () => {
    const runner = createRunner(options);
    const input = {
      get x(): number {
        throw 'not an error';
      },
    };
    const error = await runner.run(tasks.echo, input).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_DATA_CLONE' });
    const { cause } = error as DataCloneError;
    expect(cause).toBeInstanceOf(Error);
    expect(cause.message).toContain('not an error');
    expect((error as Error).message).not.toContain('undefined');
  });

  it('says so when an input is a promise, and which job it is', async () => {
    const runner = createRunner(options);
    const error = await runner
      .map(tasks.double, [Promise.resolve(1)] as unknown as number[])
      .toArray()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataCloneError);
    expect(error).toMatchObject({ code: 'ERR_DATA_CLONE', job: 0 });
    expect((error as Error).message).toContain(
      'the input is a promise: pass the value it resolves to',
    );
  });

  it('rejects an output that cannot be cloned, naming the job', async () => {
    const runner = createRunner(options);
    const error = await runner
      .all({ fine: job(tasks.double, 1), badOutput: job(tasks.unclonableOutput, null) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataCloneError);
    expect(error).toMatchObject({ code: 'ERR_DATA_CLONE', job: 'badOutput' });
    expect((error as Error).message).toContain('badOutput');
    expect((error as Error).message).toContain('its output cannot be sent between threads');
  });

  it('says it is the output when a whole chunk of outputs cannot be cloned', async () => {
    const runner = createRunner(options);
    const report = await runner.all(tasks.unclonableOutput, [1, 2, 3], {
      policy: 'settle',
      chunkSize: 3,
    });
    // (The chunk fails as a whole; its items, run one by one, each fail their own check.)
    expect(report.results).toMatchObject(
      [0, 1, 2].map((job) => ({
        status: 'rejected',
        reason: {
          code: 'ERR_DATA_CLONE',
          job,
          message: expect.stringContaining('its output cannot be sent between threads'),
        },
      })),
    );
  });

  it('fails only that job in a settle call; the thread stays usable', async () => {
    const runner = createRunner(options);
    const report = await runner.all(
      [
        job(tasks.double, 1),
        job(tasks.echo, { fn: () => 1 }),
        job(tasks.unclonableOutput, null),
        job(tasks.double, 2),
      ],
      { policy: 'settle' },
    );
    expect(report.results.map((r) => (r.status === 'fulfilled' ? r.value : r.reason.code))).toEqual(
      [2, 'ERR_DATA_CLONE', 'ERR_DATA_CLONE', 4],
    );
    expect(report.results.map((r) => (r.status === 'rejected' ? r.reason.job : null))).toEqual([
      null,
      1,
      2,
      null,
    ]);
    await expect(runner.run(tasks.double, 5)).resolves.toBe(10);
  });

  it('is not retried by default (trying again cannot help)', async () => {
    const runner = createRunner(options);
    await expect(runner.run(tasks.unclonableOutput, null, { retries: 3 })).rejects.toMatchObject({
      code: 'ERR_DATA_CLONE',
      attempts: 1,
    });
    await expect(
      runner.run(tasks.echo, { fn: () => 1 } as unknown, { retries: 3 }),
    ).rejects.toMatchObject({ code: 'ERR_DATA_CLONE', attempts: 1 });
  });

  it('copies inputs: a task cannot change the caller’s object', async () => {
    const runner = createRunner(options);
    const input = { list: [1, 2, 3], when: new Date(0), map: new Map([['k', 1]]) };
    const output = (await runner.run(tasks.echo, input)) as typeof input;
    expect(output).toEqual(input);
    expect(output).not.toBe(input);
    expect(output.map).toBeInstanceOf(Map);
  });
});
