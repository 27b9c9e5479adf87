// A task module written in TypeScript works like a JavaScript one, on every executor.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { defineTask, job } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { trackRunners } from './helpers/runners.js';
import { tasks } from './helpers/tasks.js';

const createRunner = trackRunners();
const typed = new URL('./fixtures/typed-task.ts', import.meta.url);
const norm = defineTask<{ x: number; y: number }, number>(typed, 'norm');

describe.each(executors)('TypeScript task module on $name', ({ options }) => {
  it('runs an export of a .ts module', async () => {
    const runner = createRunner(options);
    await expect(runner.run(norm, { x: 3, y: 4 })).resolves.toBe(5);
  });

  it('runs it over many inputs, beside JavaScript tasks', async () => {
    const runner = createRunner(options);
    await expect(
      runner.all(norm, [
        { x: 3, y: 4 },
        { x: 5, y: 12 },
        { x: 8, y: 15 },
      ]),
    ).resolves.toEqual([5, 13, 17]);
    await expect(
      runner.all({ ts: job(norm, { x: 6, y: 8 }), js: job(tasks.double, 5) }),
    ).resolves.toEqual({ ts: 10, js: 10 });
  });

  it('runs the .ts module beside a .js one that is not there (the compiled one, named ahead)', async () => {
    const runner = createRunner(options);
    const named = defineTask<{ x: number; y: number }, number>(
      new URL('./fixtures/typed-task.js', import.meta.url),
      'norm',
    );
    await expect(runner.run(named, { x: 3, y: 4 })).resolves.toBe(5);
    // (A .js module that is missing with no TypeScript beside it is still not found.)
    await expect(
      runner.run(defineTask(new URL('./fixtures/no-such-task.js', import.meta.url)), 1),
    ).rejects.toMatchObject({ code: 'ERR_TASK_NOT_FOUND' });
  });

  it('reports a missing export of a .ts module as ERR_TASK_NOT_FOUND', async () => {
    const runner = createRunner(options);
    await expect(runner.run(defineTask(typed, 'nope'), 1)).rejects.toMatchObject({
      code: 'ERR_TASK_NOT_FOUND',
      task: { export: 'nope' },
    });
  });
});

describe('TypeScript task module outside the test runner', () => {
  // Vitest compiles TypeScript itself; a user's script relies on fanout's own loading.
  const script = fileURLToPath(new URL('./fixtures/run-typed-task.mjs', import.meta.url));
  it.each([
    ['threads', '2'],
    ['inline', '0'],
  ])('works on %s', async (_name, threads) => {
    const { stdout } = await promisify(execFile)(process.execPath, [script, threads]);
    expect(JSON.parse(stdout)).toEqual([5, 13]);
  });
});

describe('which loader a TypeScript task module gets', () => {
  const script = fileURLToPath(new URL('./fixtures/run-typed-task.mjs', import.meta.url));
  const run = async (preload: string, threads: string): Promise<unknown> => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--import',
      fileURLToPath(new URL(`./fixtures/${preload}`, import.meta.url)),
      script,
      threads,
      'full-typescript-task.ts',
      'weighted',
    ]);
    return JSON.parse(stdout);
  };
  const threadCounts = [
    ['threads', '2'],
    ['inline', '0'],
  ];

  it.each(threadCounts)(
    'is tsx where it is installed, even on a Node that strips types: an enum and an import without its extension load (%s)',
    async (_name, threads) => {
      expect(await run('strips-types.mjs', threads)).toEqual([43, 125]);
    },
  );

  it.each(threadCounts)(
    "without tsx, is Node's own type stripping where it has one, else none; either way the error says to install tsx (%s)",
    async (_name, threads) => {
      const outcome = (await run('hide-tsx.mjs', threads)) as { code: string; message: string };
      expect(outcome.message).toContain('npm install tsx');
      if ((process.features as { typescript?: unknown }).typescript) {
        // Node 22.18 and later: it strips types, and refuses the enum.
        expect(outcome.code).toBe('ERR_TASK_FAILED');
        expect(outcome.message).toContain('enum');
      } else {
        expect(outcome.code).toBe('ERR_TASK_NOT_FOUND');
        expect(outcome.message).toContain('cannot run TypeScript by itself');
      }
    },
  );
});
