// `fanout run` when its output cannot be written: a path it cannot open is a usage error
// before any work; a reader that goes away (`| head`) stops the run quietly with status
// 141, as for SIGPIPE, its failures file complete; a write that fails stops it, saying why.
import { execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { writeTrace } from '../src/cli/run.js';
import { CLI, collect, fanout, start } from './helpers/cli.js';
import { scratchDir } from './helpers/scratch.js';

const tasks = fileURLToPath(new URL('./fixtures/tasks.mjs', import.meta.url));
const dir = scratchDir('output');
const input = join(dir, 'input.jsonl');
const inputs = Array.from({ length: 50 }, (_, i) => `${i}\n`).join('');
const jsonl3 = () =>
  Array.from({ length: 3 }, (_, id) => `${JSON.stringify({ id, n: 1 })}\n`).join('');

it('names an output or failures file it cannot open, before any work (status 2)', async () => {
  const missing = join(dir, 'no-such-dir', 'out.jsonl');
  const output = await fanout(['run', tasks, '-e', 'double', '-o', missing], inputs);
  expect(output.code).toBe(2);
  expect(output.stderr).toContain(`cannot write the output ${missing}`);
  expect(output.stderr).not.toContain('    at ');
  const failures = await fanout(['run', tasks, '-e', 'double', '--errors', missing], inputs);
  expect(failures.code).toBe(2);
  expect(failures.stderr).toContain(`cannot write failures to ${missing}`);
  expect(failures.stdout).toBe('');
});

it('leaves every file as it was when one path cannot be used (status 2)', async () => {
  writeFileSync(input, inputs);
  const [output, failures] = [join(dir, 'kept-output.jsonl'), join(dir, 'kept-failures.jsonl')];
  const made = join(dir, 'not-made.jsonl');
  const bad = join(dir, 'no-such-dir', 'file.json');
  const cases: [string[], string][] = [
    [['-o', output, '--trace', bad], `cannot write the trace to ${bad}`],
    [['-o', output, '--errors', bad], `cannot write failures to ${bad}`],
    [['-o', output, '--errors', failures, '--trace', bad], `cannot write the trace to ${bad}`],
    [['-o', made, '--errors', failures, '--trace', bad], `cannot write the trace to ${bad}`],
  ];
  for (const [args, message] of cases) {
    writeFileSync(output, 'precious\n');
    writeFileSync(failures, 'earlier failures\n');
    const result = await fanout(['run', tasks, '-e', 'double', '-i', input, ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(readFileSync(output, 'utf8')).toBe('precious\n');
    expect(readFileSync(failures, 'utf8')).toBe('earlier failures\n');
    // A file opened to be written and made for it goes again when the run does not start.
    expect(existsSync(made)).toBe(false);
  }
  // Once every check passed, the files are emptied and written as before.
  const ran = await fanout(['run', tasks, '-e', 'double', '-i', input, '-o', output]);
  expect(ran.code).toBe(0);
  expect(readFileSync(output, 'utf8')).toBe(inputs.replace(/\d+/g, (n) => `${2 * Number(n)}`));
});

it('names a task module that fails while loading, before any work (status 2)', async () => {
  const broken = join(dir, 'broken.mjs');
  writeFileSync(broken, 'export function x( {\n');
  const result = await fanout(['run', broken, '-e', 'x'], inputs);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain(`the task module ${broken} failed while loading:`);
  expect(result.stdout).toBe('');
});

it('names an input or a trace path it cannot use, before any work (status 2)', async () => {
  const directory = await fanout(['run', tasks, '-e', 'double', '-i', dir]);
  expect(directory.code).toBe(2);
  expect(directory.stderr).toContain(`the input ${dir} is a directory`);
  const sample = await fanout(['advise', tasks, '-e', 'double', '--sample', dir]);
  expect(sample.code).toBe(2);
  expect(sample.stderr).toContain(`the sample ${dir} is a directory, not a file (--sample)`);
  const missing = join(dir, 'no-such-dir', 'trace.json');
  const trace = await fanout(['run', tasks, '-e', 'double', '--trace', missing], inputs);
  expect(trace.code).toBe(2);
  expect(trace.stderr).toContain(`cannot write the trace to ${missing}`);
  expect(trace.stdout).toBe('');
  for (const result of [directory, sample, trace]) expect(result.stderr).not.toContain('    at ');
});

it('bench names a results folder it cannot make, before it runs anything (status 2)', async () => {
  const file = join(dir, 'a-file');
  writeFileSync(file, '');
  const out = join(file, 'results');
  const result = await fanout(['bench', '--quick', '--no-scaling', '--no-chart', '-o', out]);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain(`cannot write the results to ${out}`);
  expect(result.stderr).not.toContain('spin kernel'); // nothing was measured
});

it('stops quietly with 141 when the reader of its output goes away', async () => {
  const errors = join(dir, 'failures.jsonl');
  const child = start(['run', tasks, '-e', 'failIfOdd', '--policy', 'settle', '--errors', errors]);
  // An input that never ends: the run can only stop because its output is gone.
  let n = 0;
  const feed = () => {
    while (child.stdin?.write(`${n++}\n`)) {
      if (n % 1000 === 0) {
        setImmediate(feed); // let the child read and write in between
        break;
      }
    }
  };
  child.stdin?.on('drain', feed);
  child.stdin?.on('error', () => {});
  feed();
  const firstOutput = new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
  const result = collect(child);
  await firstOutput;
  child.stdout?.destroy(); // as `head` exits
  const { code, stderr } = await result;
  expect(code).toBe(141);
  expect(stderr).toBe('');
  // Every failure it met is in the failures file, each a complete line.
  const lines = readFileSync(errors, 'utf8').split('\n');
  expect(lines.at(-1)).toBe('');
  const failed = lines.slice(0, -1).map((line) => JSON.parse(line).input as number);
  expect(failed.length).toBeGreaterThan(0);
  expect(failed).toEqual(failed.map((_, i) => 2 * i + 1));
});

it('stops and says why when a write fails (status 1)', async () => {
  writeFileSync(input, inputs);
  // /dev/full takes the file open, and fails every write with ENOSPC.
  const result = await fanout(['run', tasks, '-e', 'double', '-i', input, '-o', '/dev/full']);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('cannot write the output: ENOSPC');
  expect(result.stderr).toMatch(/\d+ items? \(the output is incomplete\)/);
  expect(result.stderr).not.toContain('    at ');
  // The same on standard output (`> /dev/full`), which once crashed with a stack trace.
  const full = openSync('/dev/full', 'w');
  try {
    const child = spawn(process.execPath, [CLI, 'run', tasks, '-e', 'double', '-i', input], {
      stdio: ['ignore', full, 'pipe'],
    });
    const { code, stderr } = await collect(child);
    expect(code).toBe(1);
    expect(stderr).toContain('cannot write the output: ENOSPC');
    expect(stderr).not.toContain('    at ');
  } finally {
    closeSync(full);
  }
});

it('says the failures file could not be written, and does not send the reader there', async () => {
  writeFileSync(input, inputs);
  const result = await fanout([
    'run',
    tasks,
    '-e',
    'failIfOdd',
    '-i',
    input,
    '-o',
    '/dev/null',
    '--policy',
    'settle',
    '--errors',
    '/dev/full',
  ]);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('cannot write the failures file: ENOSPC');
  expect(result.stderr).not.toContain('(failures in /dev/full)');
});

it('leaves standard input paused until the records are read', async () => {
  // Opening the output and failures files takes a moment after the input is opened: what
  // flowed from standard input meanwhile, with no reader yet, would be lost.
  const io = new URL('../dist/src/cli/io.js', import.meta.url).href;
  const script = `
    const { openInput, readRecords } = await import(${JSON.stringify(io)});
    const input = openInput('-');
    const flowing = process.stdin.readableFlowing;
    let n = 0;
    for await (const record of readRecords(input.stream, 'jsonl')) n += record.ok ? 1 : 0;
    console.log(flowing, n, input.bytesRead());
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script]);
  const lines = Array.from({ length: 20_000 }, (_, i) => `${i}\n`).join('');
  const { stdout } = await collect(child, lines);
  expect(stdout.trim()).toBe(`null 20000 ${lines.length}`);
});

it('says the trace could not be written, with status 1, the results all written', async () => {
  writeFileSync(input, inputs);
  const toFullDisk = ['--trace', '/dev/full', '-q'];
  const result = await fanout(['run', tasks, '-e', 'double', '-i', input, ...toFullDisk]);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('cannot write the trace: ENOSPC');
  expect(result.stderr).not.toContain('    at ');
  expect(result.stdout.split('\n').filter(Boolean)).toHaveLength(50);
});

it('writes a trace of more events than one string could hold in batches, as one JSON', () => {
  // (Tens of thousands here; the batches are what lets millions of them through.)
  const traceEvents = Array.from({ length: 25_001 }, (_, i) => ({
    name: 'double',
    ph: 'X' as const,
    ts: i,
    dur: 1,
    pid: 1,
    tid: i % 3,
  }));
  const chrome = { traceEvents, displayTimeUnit: 'ms' as const, otherData: { threads: 3 } };
  const path = join(dir, 'big-trace.json');
  writeTrace(path, { toChromeTrace: () => chrome });
  expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(chrome);
});

it('sees one file through a link and `..` (as the system follows them), and none in /dev/null', async () => {
  writeFileSync(input, inputs);
  const real = join(dir, 'dots', 'real');
  mkdirSync(join(real, 'deep'), { recursive: true });
  const link = join(dir, 'dots', 'link');
  if (!existsSync(link)) symlinkSync(join(real, 'deep'), link);
  // link/.. is real, where `link` leads, not the folder `link` is in.
  const result = await fanout([
    'run',
    tasks,
    '-e',
    'double',
    '-i',
    input,
    '-o',
    `${link}/../results.jsonl`, // (not join(), which takes `link/..` away as text)
    '--trace',
    join(real, 'results.jsonl'),
  ]);
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/--output and --trace name the same file/);
  // A device takes any number of writers.
  const devnull = await fanout(
    ['run', tasks, '-e', 'failIfOdd', '-i', input, '--policy', 'settle'].concat([
      '-o',
      '/dev/null',
      '--errors',
      '/dev/null',
      '-q',
    ]),
  );
  expect(devnull.code).toBe(1);
  expect(devnull.stderr).toBe('');
});

it('adds to a log that is standard error, named by a path (--errors /dev/stderr 2>> log)', async () => {
  writeFileSync(input, '1\n2\n3\n');
  const log = join(dir, 'run.log');
  writeFileSync(log, 'an earlier line\n');
  const fd = openSync(log, 'a');
  const child = spawn(
    process.execPath,
    [CLI, 'run', tasks, '-e', 'failIfOdd', '-i', input, '-o', '/dev/null'].concat([
      '--policy',
      'settle',
      '--errors',
      '/dev/stderr',
      '-q',
    ]),
    { stdio: ['ignore', 'pipe', fd] },
  );
  closeSync(fd);
  const { code } = await collect(child);
  expect(code).toBe(1);
  const lines = readFileSync(log, 'utf8').split('\n');
  expect(lines[0]).toBe('an earlier line');
  expect(lines.slice(1, -1).map((line) => JSON.parse(line).input)).toEqual([1, 3]);
});

it('takes a named pipe for the output or the trace: opened when written, not before', async () => {
  writeFileSync(input, '1\n2\n');
  const fifo = join(dir, 'pipe');
  if (!existsSync(fifo)) execFileSync('mkfifo', [fifo]);
  // Input that is no JSON array: a usage error, found before anything waits for a reader.
  const object = join(dir, 'object.json');
  writeFileSync(object, '{"a":1}');
  const refused = await fanout([
    'run',
    tasks,
    '-e',
    'double',
    '-f',
    'json',
    '-i',
    object,
    '-o',
    fifo,
  ]);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain('must be one JSON array');
  // A trace to a pipe with a reader: the reader gets the whole trace, once.
  const reader = readFile(fifo, 'utf8');
  const result = await fanout(['run', tasks, '-e', 'double', '-i', input, '--trace', fifo, '-q']);
  expect(result.code).toBe(0);
  expect(result.stdout).toBe('2\n4\n');
  expect(JSON.parse(await reader)).toMatchObject({ traceEvents: expect.any(Array) });
});

it('stops quietly with 141 when the reader of a trace on standard output goes away', async () => {
  // A trace far bigger than a pipe holds (an event per item).
  writeFileSync(input, Array.from({ length: 20_000 }, (_, i) => `${i}\n`).join(''));
  const child = start([
    'run',
    tasks,
    '-e',
    'double',
    '-i',
    input,
    '-o',
    '/dev/null',
    '--trace',
    '-',
  ]);
  const firstOutput = new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
  const result = collect(child);
  await firstOutput;
  child.stdout?.destroy(); // as `head` exits
  const { code } = await result;
  expect(code).toBe(141);
});

it("keeps what tasks print out of a trace named by standard output's own path", async () => {
  writeFileSync(input, jsonl3());
  const traced = join(dir, 'traced.json');
  const fd = openSync(traced, 'w');
  // (`--trace /dev/stdout > traced.json`: the trace is standard output, named by a path.)
  const child = spawn(
    process.execPath,
    [CLI, 'run', tasks, '-e', 'logLines', '-i', input, '-o', join(dir, 'logged.jsonl')].concat([
      '--trace',
      '/dev/stdout',
      '-q',
    ]),
    { stdio: ['ignore', fd, 'pipe'] },
  );
  closeSync(fd);
  const { code, stderr } = await collect(child);
  expect(code).toBe(0);
  expect(JSON.parse(readFileSync(traced, 'utf8'))).toMatchObject({
    traceEvents: expect.any(Array),
  });
  expect(stderr).toContain('0:0\n'); // what the task printed
});

it('says a failures file on a pipe whose reader went away could not be written (status 1)', async () => {
  // Many failures: far more than a pipe holds.
  writeFileSync(input, Array.from({ length: 20_000 }, (_, i) => `${i}\n`).join(''));
  const fifo = join(dir, 'failures-pipe');
  if (!existsSync(fifo)) execFileSync('mkfifo', [fifo]);
  const reader = createReadStream(fifo);
  reader.once('data', () => reader.destroy()); // as `head -c 100 failures-pipe` exits
  const result = await fanout(
    ['run', tasks, '-e', 'failIfOdd', '-i', input, '-o', '/dev/null'].concat([
      '--policy',
      'settle',
      '--errors',
      fifo,
    ]),
  );
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('cannot write the failures file');
});
