// `fanout run` end to end, as a user runs it: a child process over real files.
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLI, collect, fanout } from './helpers/cli.js';
import { scratchDir } from './helpers/scratch.js';

const tasks = fileURLToPath(new URL('./fixtures/tasks.mjs', import.meta.url));
const dir = scratchDir('cli');
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const jsonl = (values: readonly unknown[]) => values.map((v) => `${JSON.stringify(v)}\n`).join('');

/** `fanout run` of a fixture task over `input` with --policy settle; its failure records. */
async function settled(task: string, input: string, errors: string) {
  const result = await fanout([
    'run',
    tasks,
    '-e',
    task,
    '-i',
    input,
    '--policy',
    'settle',
    '--errors',
    errors,
  ]);
  const text = readFileSync(errors, 'utf8').trim();
  const failures = text === '' ? [] : text.split('\n').map((l) => JSON.parse(l));
  return { result, failures };
}

describe('fanout run', () => {
  it('round-trips a JSONL file: the output equals the sequential result, in order', async () => {
    const inputs = Array.from({ length: 2000 }, (_, i) => i);
    const input = file('numbers.jsonl', jsonl(inputs));
    const output = join(dir, 'doubled.jsonl');
    const result = await fanout([
      'run',
      tasks,
      '-e',
      'double',
      '-i',
      input,
      '-o',
      output,
      '-t',
      '2',
    ]);
    expect(result.code).toBe(0);
    expect(readFileSync(output, 'utf8')).toBe(jsonl(inputs.map((x) => 2 * x)));
    expect(result.stderr).toContain('2000 items, 0 failed');
  });

  it('reads standard input and writes standard output; --unordered gives a permutation', async () => {
    const inputs = Array.from({ length: 500 }, (_, i) => i);
    const result = await fanout(['run', tasks, '-e', 'double', '--unordered', '-q'], jsonl(inputs));
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const out = result.stdout.trim().split('\n').map(Number);
    expect(out.sort((a, b) => a - b)).toEqual(inputs.map((x) => 2 * x));
  });

  it('runs the TypeScript module beside a JavaScript one named that is not there', async () => {
    const typed = fileURLToPath(new URL('./fixtures/typed-task.js', import.meta.url));
    const result = await fanout(['run', typed, '-e', 'norm', '-q'], jsonl([{ x: 3, y: 4 }]));
    expect(result).toMatchObject({ code: 0, stdout: '5\n', stderr: '' });
  });

  it('takes the input file as an argument after the module, but not twice', async () => {
    const input = file('positional.jsonl', jsonl([1, 2, 3]));
    const result = await fanout(['run', tasks, input, '-e', 'double', '-q']);
    expect(result).toMatchObject({ code: 0, stdout: '2\n4\n6\n', stderr: '' });
    const twice = await fanout(['run', tasks, input, '-i', input, '-e', 'double']);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('the input is given twice');
    expect(twice.stdout).toBe('');
  });

  it('with settle, writes failed items to --errors and exits with status 1', async () => {
    const input = file('mixed.jsonl', jsonl([2, 3, 4, 5, 6]));
    const { result, failures } = await settled('failIfOdd', input, join(dir, 'errors.jsonl'));
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(jsonl([2, 4, 6]));
    expect(failures).toEqual([
      {
        line: 2,
        input: 3,
        code: 'ERR_TASK_FAILED',
        message: expect.stringContaining('odd input 3'),
      },
      {
        line: 4,
        input: 5,
        code: 'ERR_TASK_FAILED',
        message: expect.stringContaining('odd input 5'),
      },
    ]);
    expect(result.stderr).toContain('5 items, 2 failed');
    expect(result.stderr).toContain('(failures in ');
  });

  it('writes the failures to standard output with --errors -, and says so', async () => {
    const input = file('mixed-out.jsonl', jsonl([2, 3]));
    const output = join(dir, 'mixed-out-results.jsonl');
    const result = await fanout([
      'run',
      tasks,
      '-e',
      'failIfOdd',
      '-i',
      input,
      '-o',
      output,
      '--policy',
      'settle',
      '--errors',
      '-',
    ]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ line: 2, input: 3, code: 'ERR_TASK_FAILED' });
    expect(result.stderr).toContain('(failures on standard output)');
  });

  it.each([[], ['--quiet']])(
    'with fail-fast (the default), stops at the first failure and says which line (%s)',
    async (...quiet) => {
      const input = file('fails.jsonl', jsonl([2, 4, 7, 8]));
      const result = await fanout(['run', tasks, '-e', 'failIfOdd', '-i', input, ...quiet]);
      expect(result.code).toBe(1);
      // (An error: --quiet, which prints nothing but errors, says it too, and only it.)
      expect(result.stderr).toMatch(/first failure, line 3: ERR_TASK_FAILED/);
      if (quiet.length > 0) expect(result.stderr.trim().split('\n')).toHaveLength(1);
    },
  );

  it('turns a malformed line into a failure of that item, naming the line', async () => {
    const input = file('malformed.jsonl', '1\n2\n{not json\n4\n');
    const { result, failures } = await settled(
      'double',
      input,
      join(dir, 'malformed-errors.jsonl'),
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(jsonl([2, 4, 8]));
    const [failure] = failures;
    expect(failure).toMatchObject({ line: 3, input: '{not json', code: 'ERR_MALFORMED_INPUT' });
    // fail-fast stops there and names it too, after writing what came before it, on
    // threads as without (it used to lose lines 1-2 on threads).
    const doubling = ['run', tasks, '-e', 'double', '-i', input];
    for (const threads of ['2', '0']) {
      const failures = join(dir, `malformed-fail-fast-${threads}.jsonl`);
      const stopped = await fanout([...doubling, '-t', threads, '--errors', failures]);
      expect(stopped.code).toBe(1);
      expect(stopped.stderr).toContain('first failure, line 3: ERR_MALFORMED_INPUT');
      expect(stopped.stdout).toBe(jsonl([2, 4]));
      expect(JSON.parse(readFileSync(failures, 'utf8'))).toMatchObject({
        line: 3,
        input: '{not json',
        code: 'ERR_MALFORMED_INPUT',
      });
    }
    // A run in which no task ran tells no speedup (there was none to measure).
    const first = await fanout(['run', tasks, '-e', 'double'], '{not json\n1\n');
    expect(first.code).toBe(1);
    expect(first.stderr).toContain('line 1');
    expect(first.stderr).not.toContain('speedup');
  });

  it('fails a line that is not UTF-8, naming it, where it used to change it quietly', async () => {
    // A Latin-1 é (E9), and U+FFFD written as UTF-8 (EF BF BD), which is text.
    const input = join(dir, 'latin1.jsonl');
    writeFileSync(input, Buffer.from('{"name":"caf\xe9"}\n{"ok":"\xef\xbf\xbd"}\n', 'latin1'));
    const { result, failures } = await settled('echo', input, join(dir, 'latin1-errors.jsonl'));
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('{"ok":"\uFFFD"}\n');
    expect(failures).toEqual([
      {
        line: 1,
        input: '{"name":"caf\uFFFD"}',
        code: 'ERR_MALFORMED_INPUT',
        message: 'line 1 cannot be read: it is not valid UTF-8',
      },
    ]);
    // As plain lines, and as a JSON array: the same.
    const lines = join(dir, 'latin1.txt');
    writeFileSync(lines, Buffer.from('ol\xe9\nplain\n', 'latin1'));
    const plain = await fanout(['run', tasks, '-e', 'echo', '-f', 'lines', '-i', lines]);
    expect(plain.code).toBe(1);
    expect(plain.stdout).toBe('');
    expect(plain.stderr).toContain('line 1: ERR_MALFORMED_INPUT: line 1 cannot be read');
    const array = join(dir, 'latin1.json');
    writeFileSync(array, Buffer.from('[\n"a",\n"caf\xe9"\n]', 'latin1'));
    const json = await fanout(['run', tasks, '-e', 'echo', '-f', 'json', '-i', array]);
    expect(json.code).toBe(1);
    expect(json.stderr).toContain('line 3 cannot be read: it is not valid UTF-8');
  });

  it('refuses, before touching any file, an output, failures or trace file that is another of them', async () => {
    const text = jsonl([1, 2, 3]);
    const input = file('twice.jsonl', text);
    const other = join(dir, 'twice-out.jsonl');
    const cases: [string[], string][] = [
      [['-o', input], '--input and --output name the same file'],
      [['-o', join(dir, '.', 'twice.jsonl')], '--input and --output name the same file'],
      [['--errors', input, '--policy', 'settle'], '--input and --errors name the same file'],
      [['--trace', input], '--input and --trace name the same file'],
      [['-o', other, '--errors', other], '--output and --errors name the same file'],
      [['--errors', '-'], '--output and --errors both go to standard output'],
    ];
    for (const [args, message] of cases) {
      const result = await fanout(['run', tasks, '-e', 'double', '-i', input, ...args]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(message);
      expect(readFileSync(input, 'utf8')).toBe(text);
    }
    // The task module too (a copy: the fixture must survive a failure of this test).
    const module = file('twice-module.mjs', readFileSync(tasks, 'utf8'));
    const overModule = await fanout(['run', module, '-e', 'double', '-i', input, '-o', module]);
    expect(overModule.code).toBe(2);
    expect(overModule.stderr).toContain('the task module and --output name the same file');
    expect(readFileSync(module, 'utf8')).toBe(readFileSync(tasks, 'utf8'));
  });

  it('refuses standard input or output that is the file another flag names (status 2)', async () => {
    const text = jsonl([1, 2, 3]);
    const data = join(dir, 'standard.jsonl');
    /** `fanout run` with standard input, or output, opened on `data` (as the shell would). */
    const run = async (args: string[], stdin: string, stdout?: string) => {
      writeFileSync(data, text);
      const fds = [openSync(data, stdin), ...(stdout ? [openSync(data, stdout)] : [])];
      try {
        const child = spawn(process.execPath, [CLI, 'run', tasks, '-e', 'double', ...args], {
          stdio: [fds[0], fds[1] ?? 'pipe', 'pipe'],
        });
        return await collect(child);
      } finally {
        for (const fd of fds) closeSync(fd);
      }
    };
    const kept: [string[], string, string | undefined, string][] = [
      [['-o', data], 'r', undefined, '--input (standard input) and --output name the same file'],
      [['-o', '-'], 'r', 'a', 'standard input) and --output (standard output) name the same'],
      [['-i', data], 'r', 'a', '--input and --output (standard output) name the same file'],
      [['-i', data, '-o', join(dir, 'std-out.jsonl'), '--errors', '-'], 'r', 'a', '--errors ('],
      [['--errors', data, '-o', join(dir, 'std-out.jsonl')], 'r', undefined, '--errors name'],
      [['--trace', data, '-o', join(dir, 'std-out.jsonl')], 'r', undefined, '--trace name'],
    ];
    for (const [args, stdin, stdout, message] of kept) {
      const result = await run(args, stdin, stdout);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(message);
      expect(readFileSync(data, 'utf8')).toBe(text);
    }
    // `-i data.jsonl > data.jsonl`: the shell emptied it before the run; at least the run
    // says so rather than "0 items" with status 0.
    const emptied = await run(['-i', data], 'r', 'w');
    expect(emptied.code).toBe(2);
    expect(emptied.stderr).toContain('--input and --output (standard output) name the same file');
    // A standard input that is another file is read as ever.
    const otherFd = openSync(file('other.jsonl', text), 'r');
    try {
      const other = spawn(process.execPath, [CLI, 'run', tasks, '-e', 'double', '-o', data], {
        stdio: [otherFd, 'pipe', 'pipe'],
      });
      expect((await collect(other)).code).toBe(0);
    } finally {
      closeSync(otherFd);
    }
    expect(readFileSync(data, 'utf8')).toBe(jsonl([2, 4, 6]));
  });

  it('refuses two files not yet made that are one through a linked folder or a dangling link', async () => {
    const input = file('linked.jsonl', jsonl([1, 2, 3]));
    const real = join(dir, 'real');
    mkdirSync(real);
    symlinkSync(real, join(dir, 'to-real'));
    symlinkSync(join(real, 'later.jsonl'), join(dir, 'dangling.jsonl'));
    const cases: [string, string][] = [
      [join(real, 'x.jsonl'), join(dir, 'to-real', 'x.jsonl')],
      [join(real, 'later.jsonl'), join(dir, 'dangling.jsonl')],
    ];
    for (const [output, errors] of cases) {
      const args = ['-i', input, '--policy', 'settle', '-o', output, '--errors', errors];
      const result = await fanout(['run', tasks, '-e', 'failIfOdd', ...args]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('--output and --errors name the same file');
    }
    // Nothing was made (else the results, then the failures over them).
    expect(readdirSync(real)).toEqual([]);
  });

  it('refuses more threads than the memory could hold, as a usage error (status 2)', async () => {
    const input = file('few.jsonl', '1\n2\n');
    const result = await fanout(['run', tasks, '-e', 'double', '-i', input, '-t', '100000000']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /Expected at most \d+ on this machine \(.* GiB of memory, about 9 MiB a thread\)/,
    );
  });

  it('fails an item whose result the output format cannot hold, and goes on (settle)', async () => {
    const input = file('bigint.jsonl', jsonl([1, 2]));
    const { result, failures } = await settled('toBigInt', input, join(dir, 'bigint-errors.jsonl'));
    expect(result.code).toBe(1);
    expect(result.stderr).not.toContain('    at ');
    expect(result.stderr).toContain('2 items, 2 failed');
    expect(failures).toMatchObject([
      { line: 1, input: 1, code: 'ERR_OUTPUT_FORMAT' },
      { line: 2, input: 2, code: 'ERR_OUTPUT_FORMAT' },
    ]);
    // A line break in a result of --format lines, which would split it in two records.
    const lines = file('two-lines.txt', 'a\nb\n');
    const split = await fanout(['run', tasks, '-e', 'withLineBreak', '-f', 'lines', '-i', lines]);
    expect(split.code).toBe(1);
    expect(split.stdout).toBe('');
    expect(split.stderr).toContain('ERR_OUTPUT_FORMAT: its result cannot be written as lines');
    // A lone CR is no line break: a line read with one is written back as it was.
    const echoed = await fanout(['run', tasks, '-e', 'echo', '-f', 'lines'], 'a\rb\nc\r\n\rd\n');
    expect(echoed.code).toBe(0);
    expect(echoed.stdout).toBe('a\rb\nc\n\rd\n');
  });

  it('reads what was written: UTF-8 split between reads, a byte order mark, a CR inside a line', async () => {
    // A JSON array of many multi-byte strings: some characters straddle two reads.
    const strings = Array.from({ length: 20_000 }, (_, i) => `é€😀${i}`);
    const array = file('utf8.json', JSON.stringify(strings));
    const out = join(dir, 'utf8-out.json');
    const json = await fanout(['run', tasks, '-e', 'echo', '-f', 'json', '-i', array, '-o', out]);
    expect(json.code).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(strings);
    // A BOM before the first record, and a lone CR (JSON whitespace) inside the second:
    // three records on three lines, the third malformed.
    const input = file('bom-cr.jsonl', '\uFEFF{"a":1}\n{"b":\r2}\nnot json\n');
    const { result, failures } = await settled('echo', input, join(dir, 'bom-cr-errors.jsonl'));
    expect(result.stdout).toBe(jsonl([{ a: 1 }, { b: 2 }]));
    expect(failures).toMatchObject([{ line: 3, code: 'ERR_MALFORMED_INPUT' }]);
  });

  it('names, for a JSON array, the line where the failed element starts, or where the text stops being JSON', async () => {
    // Elements 2 and 4 fail: they start on lines 3 and 4.
    const array = file('odd.json', '[2,\n\n  3, 4,\n5\n]');
    const json = ['-f', 'json', '--policy', 'settle', '--errors', join(dir, 'odd-errors.jsonl')];
    const result = await fanout(['run', tasks, '-e', 'failIfOdd', '-i', array, ...json]);
    expect(result.code).toBe(1);
    const failures = readFileSync(join(dir, 'odd-errors.jsonl'), 'utf8').trim().split('\n');
    expect(failures.map((l) => JSON.parse(l))).toMatchObject([
      { line: 3, input: 3, code: 'ERR_TASK_FAILED' },
      { line: 4, input: 5, code: 'ERR_TASK_FAILED' },
    ]);
    // `tru` on line 502, which Node's "Unexpected token" message does not place.
    const items = Array.from({ length: 500 }, (_, i) => `{"a":${i}},`);
    const wrong = file('wrong.json', `[\n${items.join('\n')}\n{"a": tru}\n]\n`);
    const stopped = await fanout(['run', tasks, '-e', 'echo', '-f', 'json', '-i', wrong]);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain('first failure, line 502: ERR_MALFORMED_INPUT: line 502 is');
  });

  it('refuses JSON input that is no array before opening the output', async () => {
    const input = file('object.json', '{"a":1}');
    const output = file('kept.json', 'kept\n');
    const result = await fanout([
      'run',
      tasks,
      '-e',
      'echo',
      '-f',
      'json',
      '-i',
      input,
      '-o',
      output,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('with --format json the input must be one JSON array');
    expect(result.stderr).not.toContain('items');
    expect(readFileSync(output, 'utf8')).toBe('kept\n');
  });

  it('refuses a timeout under 1 ms as a usage error, and takes one past what a timer holds', async () => {
    const input = file('timeouts.jsonl', jsonl([1, 2]));
    const small = await fanout(['run', tasks, '-e', 'double', '-i', input, '--timeout', '0.5']);
    expect(small.code).toBe(2);
    expect(small.stderr).not.toContain('    at ');
    // Node fires a timer longer than 2^31 - 1 ms at once: every item timed out.
    const huge = await fanout(['run', tasks, '-e', 'double', '-i', input, '--timeout', '1e10']);
    expect(huge.code).toBe(0);
    expect(huge.stdout).toBe(jsonl([2, 4]));
  });

  it('writes a Chrome trace with one complete event per item', async () => {
    const input = file('traced.jsonl', jsonl([1, 2, 3, 4, 5]));
    const trace = join(dir, 'trace.json');
    const result = await fanout([
      'run',
      tasks,
      '-e',
      'double',
      '-i',
      input,
      '--trace',
      trace,
      '-q',
    ]);
    expect(result.code).toBe(0);
    const { traceEvents } = JSON.parse(readFileSync(trace, 'utf8'));
    expect(traceEvents.filter((e: { ph: string }) => e.ph === 'X')).toHaveLength(5);
  });

  it('writes the trace to standard output with --trace -, as --errors - the failures, when the output is a file', async () => {
    const inputs = Array.from({ length: 5 }, (_, id) => ({ id, n: 1 }));
    const input = file('traced-stdout.jsonl', jsonl(inputs));
    const output = join(dir, 'traced-stdout-out.jsonl');
    // Run in `dir`, where a file named '-' would show.
    const run = (args: string[]) =>
      collect(
        spawn(process.execPath, [CLI, 'run', tasks, '-e', 'logLines', '-i', input, ...args], {
          cwd: dir,
        }),
      );
    const traced = await run(['-o', output, '--trace', '-']);
    expect(traced.code).toBe(0);
    // Nothing else on standard output: the task's console.log went to standard error.
    const { traceEvents } = JSON.parse(traced.stdout);
    expect(traceEvents.filter((e: { ph: string }) => e.ph === 'X')).toHaveLength(5);
    expect(traced.stderr).toContain('4:0\n');
    expect(readFileSync(output, 'utf8')).toBe(jsonl(inputs.map(({ id }) => id)));
    const failures = await run(['-o', output, '--errors', '-']);
    expect(failures.code).toBe(0);
    expect(failures.stdout).toBe('');
    expect(failures.stderr).toContain('4:0\n');
    // Two of them on standard output is a usage error, as --output and --errors were.
    const refused: [string[], string][] = [
      [['--trace', '-'], '--output and --trace both go to standard output'],
      [['-o', output, '--errors', '-', '--trace', '-'], '--errors and --trace both go to'],
    ];
    for (const [args, message] of refused) {
      const result = await run(args);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(message);
      expect(result.stdout).toBe('');
    }
    expect(existsSync(join(dir, '-'))).toBe(false);
  });

  it('supports the lines and json formats', async () => {
    const lines = await fanout(['run', tasks, '-e', 'echo', '-f', 'lines', '-q'], 'a\nb b\n\nc\n');
    expect(lines.stdout).toBe('a\nb b\n\nc\n');
    const json = await fanout(['run', tasks, '-e', 'double', '-f', 'json', '-q'], '[1, 2, 3]');
    expect(JSON.parse(json.stdout)).toEqual([2, 4, 6]);
    const empty = await fanout(['run', tasks, '-e', 'double', '-f', 'json', '-q'], '[]');
    expect(JSON.parse(empty.stdout)).toEqual([]);
  });

  it('exits with status 2 before any work for a missing module, export or input, or a bad flag', async () => {
    const input = file('one.jsonl', '1\n');
    const missingModule = await fanout(['run', join(dir, 'nope.mjs'), '-i', input]);
    expect(missingModule.code).toBe(2);
    expect(missingModule.stderr).toContain('nope.mjs');
    const missingExport = await fanout(['run', tasks, '-e', 'nope', '-i', input]);
    expect(missingExport.code).toBe(2);
    expect(missingExport.stderr).toContain('`nope`');
    expect(missingExport.stdout).toBe('');
    const missingInput = await fanout([
      'run',
      tasks,
      '-e',
      'double',
      '-i',
      join(dir, 'none.jsonl'),
    ]);
    expect(missingInput.code).toBe(2);
    expect(missingInput.stderr).toContain('none.jsonl');
    const badFlag = await fanout(['run', tasks, '--threads', 'many']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain('many');
    const badFormat = await fanout(['run', tasks, '--format', 'xml']);
    expect(badFormat.code).toBe(2);
  });

  it('documents every flag in --help', async () => {
    const help = await fanout(['run', '--help']);
    expect(help.code).toBe(0);
    for (const flag of [
      '--export',
      '--input',
      '--output',
      '--format',
      '--threads',
      '--policy',
      '--retries',
      '--timeout',
      '--concurrency',
      '--chunk',
      '--window',
      '--unordered',
      '--errors',
      '--trace',
      '--quiet',
      '--verbose',
      'Exit status',
    ]) {
      expect(help.stdout).toContain(flag);
    }
    const top = await fanout(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('run');
    expect(top.stdout).toContain('advise');
  });

  it.each(['2', '0'])(
    'keeps standard output for the results: process.stdout.write in a task module goes to standard error (%s threads)',
    async (threads) => {
      const raw = fileURLToPath(new URL('./fixtures/raw-stdout.mjs', import.meta.url));
      const inputs = Array.from({ length: 12 }, (_, id) => ({ id }));
      const result = await fanout(['run', raw, '-e', 'writeRaw', '-t', threads], jsonl(inputs));
      expect(result.code).toBe(0);
      expect(result.stdout).toBe(jsonl(inputs.map(({ id }) => id)));
      expect(result.stderr).toContain('top level\n');
      for (const { id } of inputs) expect(result.stderr).toContain(`raw ${id}\n`);
    },
  );

  it.each(['2', '0'])(
    "keeps standard output for the results: a task's console.log goes to standard error (%s threads)",
    async (threads) => {
      const inputs = Array.from({ length: 30 }, (_, id) => ({ id, n: 2 }));
      const result = await fanout(['run', tasks, '-e', 'logLines', '-t', threads], jsonl(inputs));
      expect(result.code).toBe(0);
      expect(result.stdout).toBe(jsonl(inputs.map(({ id }) => id)));
      for (const { id } of inputs) expect(result.stderr).toContain(`${id}:1\n`);
    },
  );
});
