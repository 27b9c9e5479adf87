// ERR_TASK_NOT_FOUND: the task's module cannot be loaded, it has no such export, or the
// export is not a function. The message names the module and the export.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defineTask, job, TaskError, TaskNotFoundError } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { trackRunners } from './helpers/runners.js';
import { fixtures, tasks } from './helpers/tasks.js';

const createRunner = trackRunners();
const missingModule = new URL('./fixtures/no-such-module.mjs', import.meta.url);

describe.each(executors)('ERR_TASK_NOT_FOUND on $name', ({ name, options }) => {
  it('reports a missing module, naming the module and the export', async () => {
    const runner = createRunner(options);
    const task = defineTask(missingModule, 'compute');
    const error = await runner.run(task, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskNotFoundError);
    expect(error).toBeInstanceOf(TaskError);
    expect(error).toMatchObject({
      code: 'ERR_TASK_NOT_FOUND',
      job: 0,
      task: { module: missingModule.href, export: 'compute' },
    });
    expect((error as Error).message).toContain(missingModule.href);
    expect((error as Error).message).toContain('compute');
  });

  // (Node says ERR_UNSUPPORTED_DIR_IMPORT; inline, under vitest, the import goes through
  // vite's resolver, which says it cannot find the module.)
  it('reports a directory given as the module, as a URL or a path', async () => {
    const runner = createRunner(options);
    const directory = new URL('./fixtures/', import.meta.url);
    for (const module of [directory, fileURLToPath(directory).replace(/\/$/, '')]) {
      const task = defineTask(module, 'compute');
      const error = await runner.run(task, 1).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TaskNotFoundError);
      expect(error).toMatchObject({ code: 'ERR_TASK_NOT_FOUND', task: { export: 'compute' } });
      expect((error as Error).message).toContain(`cannot load module ${task.module}`);
    }
  });

  it('reports a missing export, naming the module and the export', async () => {
    const runner = createRunner(options);
    const task = defineTask(fixtures, 'noSuchExport');
    const error = await runner.run(task, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskNotFoundError);
    expect(error).toMatchObject({ code: 'ERR_TASK_NOT_FOUND', task: { export: 'noSuchExport' } });
    expect((error as Error).message).toContain(fixtures.href);
    expect((error as Error).message).toContain('noSuchExport');
  });

  it('reports an export that is not a function, naming the module and the export', async () => {
    const runner = createRunner(options);
    const error = await runner.run(tasks.notAFunction, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskNotFoundError);
    expect(error).toMatchObject({ code: 'ERR_TASK_NOT_FOUND', task: { export: 'notAFunction' } });
    expect((error as Error).message).toContain(fixtures.href);
    expect((error as Error).message).toContain('notAFunction');
  });

  it('uses the default export when no export name is given', async () => {
    const runner = createRunner(options);
    await expect(runner.run(defineTask(fixtures), 7)).resolves.toBe('default:7');
    const missingDefault = defineTask(new URL('./fixtures/throws-on-load.mjs', import.meta.url));
    expect(missingDefault.export).toBe('default');
  });

  it('takes the exports of a module compiled to CommonJS, its default one too', async () => {
    const runner = createRunner(options);
    const compiled = new URL('./fixtures/compiled-cjs.cjs', import.meta.url);
    await expect(runner.run(defineTask<number, number>(compiled), 7)).resolves.toBe(21);
    await expect(runner.run(defineTask<number, number>(compiled, 'double'), 7)).resolves.toBe(14);
    const error = await runner.run(defineTask(compiled, 'nope'), 7).catch((e: unknown) => e);
    expect((error as Error).message).toContain('its function exports: default, double');
    // One with no default export says so (not that its `module.exports` is no function).
    // (Inline, under vitest, the import goes through vite's loader, which shows a CommonJS
    // module otherwise than Node does.)
    if (name !== 'threads') return;
    const named = new URL('./fixtures/compiled-cjs-named.cjs', import.meta.url);
    const none = await runner.run(defineTask(named), 7).catch((e: unknown) => e);
    expect((none as Error).message).toContain('has no export named `default`');
    expect((none as Error).message).toContain('its function exports: double)');
  });

  it('fails only the jobs that use the missing task; the module still loads for others', async () => {
    const runner = createRunner(options);
    const report = await runner.all(
      {
        missing: job(defineTask(missingModule, 'compute'), 1),
        found: job(tasks.double, 2),
        noExport: job(defineTask(fixtures, 'nope'), 3),
      },
      { policy: 'settle' },
    );
    expect(report.results.missing).toMatchObject({
      status: 'rejected',
      reason: { code: 'ERR_TASK_NOT_FOUND', job: 'missing' },
    });
    expect(report.results.found).toMatchObject({ status: 'fulfilled', value: 4 });
    expect(report.results.noExport).toMatchObject({
      status: 'rejected',
      reason: { code: 'ERR_TASK_NOT_FOUND', job: 'noExport' },
    });
  });
});
