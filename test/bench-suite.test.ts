// The benchmark suite end to end on tiny inputs: every contender runs the same items,
// its results are checked against the sequential loop's, and one that returns a wrong
// answer is marked failed instead of being timed. Nothing here asserts a timing.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchCase } from '../bench/cases.js';
import { type Contender, ContenderUnavailableError } from '../bench/contenders.js';
import { ResultMismatchError, verify } from '../bench/measure.js';
import { writeResults } from '../bench/report.js';
import { runSuite, type SuiteOptions } from '../bench/suite.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../dist/src/cli.js', import.meta.url));

// A handful of items per case, one measured run per row.
const TINY: SuiteOptions = {
  threads: 2,
  quick: true,
  itemScale: 0.01,
  minIterations: 1,
  timeMs: 0,
};

/** A contender that runs the sequential kernel in place, then tampers with the results. */
function tampering(name: string, tamper: (out: unknown[], run: number) => void): Contender {
  return {
    name,
    description: 'the sequential kernel, with its results changed',
    start: async () => {
      let runs = 0;
      return {
        threads: 2,
        async: true,
        run: async (c: BenchCase, inputs: readonly unknown[]) => {
          const out = inputs.map((input) => c.run(input));
          tamper(out, ++runs);
          return out;
        },
        close: async () => {},
      };
    },
  };
}

let out: string;
beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'fanout-bench-'));
});
afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

describe('the benchmark suite', () => {
  it('runs every contender on the same items, checks them, and writes JSON, Markdown and charts', async () => {
    const result = await runSuite({
      ...TINY,
      workloads: ['spin', 'mandelbrotRow', 'blur'],
      sizes: ['50us', 'heavy', 'small'],
    });
    const contenders = [
      'sequential',
      'fanout',
      'split',
      'piscina',
      'tinypool',
      'workerpool',
      'poolifier',
    ];
    const cases = ['spin/50us', 'spin/heavy', 'mandelbrotRow/small', 'blur/small'];
    expect(result.rows.map((r) => `${r.case} ${r.contender}`)).toEqual(
      cases.flatMap((c) => contenders.map((k) => `${c} ${k}`)),
    );
    for (const row of result.rows) {
      expect(row.error, `${row.case} ${row.contender}`).toBeUndefined();
      expect(row.state).toBe('ok');
      expect(row.timing?.samples).toBeGreaterThanOrEqual(1);
      expect(row.speedup).toBeGreaterThan(0);
      expect(Number.isFinite(row.overheadUsPerItem)).toBe(true);
    }
    expect(result.failures).toBe(0);
    expect(result.scaling?.points.map((p) => [p.threads, p.state])).toEqual([
      [1, 'ok'],
      [2, 'ok'],
    ]);

    const files = await writeResults(result, out);
    const json = JSON.parse(await readFile(files.json, 'utf8'));
    expect(json.rows).toHaveLength(result.rows.length);
    expect(json.machine.cores).toBe(result.machine.cores);
    const markdown = await readFile(files.markdown, 'utf8');
    expect(markdown).toContain(result.machine.description);
    expect(markdown).toContain('| spin 50 µs | 10 | fanout |');
    expect(markdown).toContain('fanout vs piscina');

    expect(files.chartError).toBeUndefined();
    expect(files.charts.map((c) => c.slice(out.length + 1))).toEqual([
      'speedup.svg',
      'scaling.svg',
    ]);
    const speedup = await readFile(join(out, 'speedup.svg'), 'utf8');
    expect(speedup.startsWith('<svg')).toBe(true);
    // One line per parallel contender, and the core-count ceiling.
    expect(speedup.match(/class="mark-line role-mark/g)).toHaveLength(6);
    for (const name of contenders.slice(1)) expect(speedup).toContain(`>${name}</text>`);
    expect(speedup).toContain('ceiling: 2 threads');
    const scaling = await readFile(join(out, 'scaling.svg'), 'utf8');
    expect(scaling.match(/class="mark-line role-mark/g)).toHaveLength(2); // fanout, ideal
  });

  it('marks a contender that returns a wrong result as failed, and goes on with the others', async () => {
    const liar = tampering('liar', (results) => {
      results[1] = (results[1] as number) + 1;
    });
    const result = await runSuite({
      ...TINY,
      workloads: ['spin'],
      sizes: ['50us'],
      contenders: [liar, 'fanout'],
      scaling: false,
    });
    const row = result.rows.find((r) => r.contender === 'liar');
    expect(row?.state).toBe('failed');
    expect(row?.error?.code).toBe('ERR_BENCH_MISMATCH');
    expect(row?.error?.message).toContain('item 1');
    expect(row?.timing).toBeUndefined();
    expect(row?.speedup).toBeUndefined();
    expect(result.rows.find((r) => r.contender === 'fanout')?.state).toBe('ok');
    expect(result.failures).toBe(1);
    const files = await writeResults(result, out, { charts: false });
    expect(await readFile(files.markdown, 'utf8')).toContain('**1 row(s) failed**');
  });

  it('checks the last measured run too, not only the first', async () => {
    const flaky = tampering('flaky', (results, run) => {
      if (run > 1) results.reverse();
    });
    const result = await runSuite({
      ...TINY,
      workloads: ['spin'],
      sizes: ['50us'],
      contenders: [flaky],
      scaling: false,
    });
    const row = result.rows.find((r) => r.contender === 'flaky');
    expect(row?.state).toBe('failed');
    expect(row?.error?.code).toBe('ERR_BENCH_MISMATCH');
  });

  it('reports a contender that throws as failed with its code, and a missing library as skipped', async () => {
    const broken: Contender = {
      name: 'broken',
      description: 'throws',
      start: async () => ({
        threads: 2,
        async: true,
        run: async () => {
          throw Object.assign(new Error('boom'), { code: 'ERR_BOOM' });
        },
        close: async () => {},
      }),
    };
    const missing: Contender = {
      name: 'missing',
      description: 'not installed',
      start: async () => {
        throw new ContenderUnavailableError('missing is not installed');
      },
    };
    const result = await runSuite({
      ...TINY,
      workloads: ['spin'],
      sizes: ['2ms'],
      contenders: [broken, missing],
      scaling: false,
    });
    const state = (name: string) => result.rows.find((r) => r.contender === name);
    expect(state('broken')).toMatchObject({ state: 'failed', error: { code: 'ERR_BOOM' } });
    expect(state('missing')).toMatchObject({
      state: 'skipped',
      error: { code: 'ERR_BENCH_UNAVAILABLE' },
    });
    expect(result.failures).toBe(1);
  });

  it('rejects unknown names, naming what it accepts', async () => {
    await expect(runSuite({ ...TINY, workloads: ['nope' as 'spin'] })).rejects.toThrow(
      /Expected a workload among spin, countPrimes/,
    );
    await expect(runSuite({ ...TINY, workloads: ['blur'], sizes: ['1us'] })).rejects.toThrow(
      RangeError,
    );
  });
});

describe('verify', () => {
  it('compares typed arrays by content and names the first item that differs', () => {
    const expected = [Uint16Array.from([1, 2, 3]), Uint16Array.from([4, 5, 6])];
    expect(() =>
      verify([Uint16Array.from([1, 2, 3]), Uint16Array.from([4, 5, 6])], expected, 'x'),
    ).not.toThrow();
    expect(() =>
      verify([Uint16Array.from([1, 2, 3]), Uint16Array.from([4, 5, 7])], expected, 'x'),
    ).toThrow(/item 1/);
    expect(() => verify([Uint16Array.from([1, 2, 3])], expected, 'x')).toThrow(ResultMismatchError);
    expect(() => verify([1, 2], [1, 2], 'x')).not.toThrow();
    expect(() => verify(['1', 2], [1, 2], 'x')).toThrow(/item 0/);
  });
});

describe('fanout bench (the command line)', () => {
  it('prints only JSON on stdout with --json, and the help names every filter', async () => {
    const { stdout } = await run(process.execPath, [
      cli,
      'bench',
      '--json',
      '--quick',
      '--workload',
      'spin',
      '--size',
      '2ms',
      '--contenders',
      'fanout',
      '--no-scaling',
      '--no-chart',
      '--time',
      '0',
      '--out',
      out,
    ]);
    const parsed = JSON.parse(stdout);
    expect(parsed.schema).toBe('fanout-bench/1');
    expect(parsed.rows.map((r: { contender: string }) => r.contender)).toEqual([
      'sequential',
      'fanout',
    ]);
    expect(parsed.files.json).toBe(join(out, 'results.json'));

    const help = (await run(process.execPath, [cli, 'bench', '--help'])).stdout;
    for (const flag of [
      '--workload',
      '--size',
      '--contenders',
      '--quick',
      '--threads',
      '--json',
      '--out',
      '--no-scaling',
    ]) {
      expect(help).toContain(flag);
    }
    expect((await run(process.execPath, [cli, '--help'])).stdout).toContain('bench [options]');
  });

  it('refuses an unknown workload, or a selection that matches nothing, before running anything', async () => {
    await expect(run(process.execPath, [cli, 'bench', '--workload', 'nope'])).rejects.toMatchObject(
      { code: 2, stderr: expect.stringContaining("argument 'nope' is invalid") },
    );
    await expect(
      run(process.execPath, [cli, 'bench', '--workload', 'blur', '--size', '1us', '--out', out]),
    ).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('No case matches') });
  });
});
