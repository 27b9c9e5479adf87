// `fanout run`: a task module over a data file (or standard input), on every core,
// streaming: results are written as they come, in bounded memory, in input order unless
// --unordered. Exit status: 0 all succeeded, 1 some items failed (or a file could not be
// written), 2 usage error, 130 interrupted (Ctrl-C), 141 the reader of the output went away.
import {
  closeSync,
  constants,
  createWriteStream,
  fstatSync,
  lstatSync,
  openSync,
  readlinkSync,
  realpathSync,
  type Stats,
  statSync,
  writeSync,
} from 'node:fs';
import { type FileHandle, open, rm } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { SingleBar } from 'cli-progress';
import { Command, Option } from 'commander';
import { counted, describeMachine } from '../machine.js';
import type { Progress } from '../progress.js';
import { stackless } from '../protocol.js';
import { createRunner, DEFAULT_WINDOW } from '../runner.js';
import type { CallStats } from '../stats.js';
import type { CallTrace } from '../trace.js';
import { chunkArg, integerFrom, threadsFrom } from './args.js';
import {
  FORMATS,
  type Format,
  type InputRecord,
  malformedLine,
  openInput,
  RecordWriter,
  readerGone,
  readRecords,
  taskFromArgs,
  taskOutputToStderr,
  UsageError,
} from './io.js';

export interface RunFlags {
  readonly export: string;
  readonly input: string;
  readonly output: string;
  readonly format: Format;
  readonly threads?: number;
  readonly policy: 'fail-fast' | 'settle';
  readonly retries: number;
  readonly timeout?: number;
  readonly concurrency?: number;
  readonly chunk: 'auto' | number;
  readonly window?: number;
  readonly unordered?: boolean;
  readonly errors?: string;
  readonly trace?: string;
  readonly quiet?: boolean;
  readonly verbose?: boolean;
}

/** A line of the input that could not be read: a failure of that item alone. */
class MalformedInput extends Error {
  readonly code = 'ERR_MALFORMED_INPUT';
  readonly line: number;
  constructor(line: number, cause: Error) {
    super(malformedLine(line, cause), { cause });
    this.line = line;
  }
}

class Interrupted extends Error {}

/** The output or the failures file could not be written: the run stops (see runTask). */
class WriteFailed extends Error {}

const EXAMPLES = `
Examples:
  $ fanout run ./tasks.js --export resize --input images.jsonl --output out.jsonl
  $ fanout run ./tasks.js data.jsonl > out.jsonl
  $ cat records.jsonl | fanout run ./transform.ts -e clean --policy settle --errors bad.jsonl > clean.jsonl
  $ fanout run ./hash.mjs --format lines --input paths.txt --unordered --threads 8

The module exports the task: (input, ctx) => output | Promise<output>. Each input record
(a JSONL line, an element of a JSON array, or a plain line) is one item; each output is
written as the same format. Failed items go to --errors as JSONL:
{"line": 12, "input": ..., "code": "ERR_TASK_FAILED", "message": "..."}, where "line" is
the line of the input where the item starts (with --format json, where its element starts,
or where the text stops being JSON).

Exit status: 0 every item succeeded; 1 some items failed, or the output, the failures
file or the trace could not be written; 2 usage error (bad flags, a missing module or export, an input,
output or trace path that cannot be used: caught before any work starts); 130 interrupted
by Ctrl-C (threads stopped, output flushed up to the last complete result; Ctrl-C again
ends at once); 141 the reader of standard output went away (as with | head: the run stops
quietly).`;

export function runCommand(): Command {
  return new Command('run')
    .description('Run a task module over a data file on every core, streaming the results.')
    .argument('<module>', 'the task module (.js, .mjs, .ts...): a file path')
    .argument('[input]', 'the input file, as --input gives it')
    .option('-e, --export <name>', 'the export of the module to run', 'default')
    .option('-i, --input <file>', "input file, or '-' for standard input", '-')
    .option('-o, --output <file>', "output file, or '-' for standard output", '-')
    .addOption(
      new Option('-f, --format <format>', 'format of the input and the output')
        .choices(FORMATS)
        .default('jsonl'),
    )
    .option(
      '-t, --threads <n>',
      'worker threads; 0 runs in this thread (default: one per core this process may use, a CPU quota counted)',
      threadsFrom(0),
    )
    .addOption(
      new Option(
        '--policy <policy>',
        'fail-fast: stop at the first failure; settle: run everything',
      )
        .choices(['fail-fast', 'settle'])
        .default('fail-fast'),
    )
    .option('--retries <n>', 'retries per item', integerFrom(0), 0)
    .option(
      '--timeout <ms>',
      'time limit per attempt, in ms (stops code that never yields, on threads) (default: none)',
      integerFrom(1),
    )
    .option(
      '--concurrency <n>',
      'most items in flight at once (default: as many as the threads and --window allow)',
      integerFrom(1),
    )
    .option('--chunk <auto|n>', 'items sent to a thread in one message', chunkArg, 'auto')
    .option(
      '--window <n>',
      `most items read ahead, in flight or waiting to be written (default: ${DEFAULT_WINDOW})`,
      integerFrom(1),
    )
    .option('--unordered', 'write results as they complete, not in input order')
    .option(
      '--errors <file>',
      "write the failed items there, as JSONL, or '-' for standard output (when --output is a file)",
    )
    .option(
      '--trace <file>',
      "write a Chrome trace of the run (open it in Perfetto) when it ends, or '-' for standard output (when --output is a file); keeps one record per item",
    )
    .option('-q, --quiet', 'print nothing but errors on stderr')
    .option('-v, --verbose', 'also print the machine, each failure, and memory use')
    .addHelpText('after', EXAMPLES)
    .action(async function (
      this: Command,
      module: string,
      input: string | undefined,
      flags: RunFlags,
    ) {
      if (input !== undefined && this.getOptionValueSource('input') === 'cli') {
        this.error(
          `error: the input is given twice: '${input}' (an argument) and '${flags.input}' (--input)`,
          { exitCode: 2 },
        );
      }
      process.exitCode = await runTask(module, input === undefined ? flags : { ...flags, input });
    });
}

function formatSummary(
  items: number,
  failed: number,
  stats: CallStats | undefined,
  wallMs: number,
  outputFailed: boolean,
): string {
  const seconds = wallMs / 1000;
  const rate = seconds > 0 ? Math.round(items / seconds) : 0;
  const parts = [
    // (Results handed to an output that then failed may not have been written.)
    outputFailed ? `${counted(items, 'item')} (the output is incomplete)` : counted(items, 'item'),
    `${failed} failed`,
    `${seconds.toFixed(2)} s`,
    `${rate} items/s`,
  ];
  // No speedup to tell when no task ran (every item failed before reaching a thread).
  if (stats && stats.wallMs > 0 && stats.workMs > 0) {
    parts.push(
      `speedup ≈ ${stats.speedup.toFixed(2)}x on ${counted(stats.threads, 'thread')} (task time ${(stats.workMs / 1000).toFixed(2)} s)`,
    );
  }
  return `fanout run: ${parts.join(', ')}`;
}

/**
 * Where `path` leads, every link followed: its real path when it exists; else, for a file
 * that opening would create, the real path of its folder and its name (a link that leads
 * nowhere yet: where it leads). A path whose folder does not exist either: as written.
 */
function whereTo(path: string, links = 0): string {
  try {
    return realpathSync(path);
  } catch {
    // not there (yet): see below
  }
  // (Not resolve(path), which takes `link/..` away as text where the system follows the link.)
  const full = isAbsolute(path) ? path : `${process.cwd()}${sep}${path}`;
  try {
    if (links < 40 && lstatSync(full).isSymbolicLink()) {
      return whereTo(resolve(dirname(full), readlinkSync(full)), links + 1);
    }
  } catch {
    // nothing at all there
  }
  try {
    return join(realpathSync(dirname(full)), basename(full));
  } catch {
    return full;
  }
}

/**
 * A file that the run reads or writes: named by its path, or, for '-', the standard stream
 * when the shell made it a file (`< data.jsonl`, `> out.jsonl`): else none to compare.
 */
interface Named {
  readonly what: string;
  readonly path?: string;
  readonly stats?: Stats;
}

/** The file behind a standard stream, when it is a regular file (not a pipe, a terminal). */
function standardFile(fd: number): Stats | undefined {
  try {
    const stats = fstatSync(fd);
    return stats.isFile() ? stats : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether two named files are one: the same inode if both exist, else the same place once
 * links are followed (`real/x` and `link-to-real/x`, neither made yet, are one file). A
 * device (/dev/null) takes any number of writers: none is the same.
 */
function same(x: Named, y: Named): boolean {
  const stats = (named: Named) => {
    try {
      return named.stats ?? statSync(named.path!, { throwIfNoEntry: false });
    } catch {
      return undefined;
    }
  };
  const [a, b] = [stats(x), stats(y)];
  if (a?.isCharacterDevice() || b?.isCharacterDevice()) return false;
  if (a && b) return a.dev === b.dev && a.ino === b.ino;
  // (A standard stream is a file that exists: one not made yet is not it.)
  return x.path !== undefined && y.path !== undefined && whereTo(x.path) === whereTo(y.path);
}

/** Refuses the first two of `named` that are one file (see same). */
function refuseSame(named: readonly Named[]): void {
  for (let i = 0; i < named.length; i++) {
    for (let j = i + 1; j < named.length; j++) {
      const [x, y] = [named[i]!, named[j]!];
      if (!same(x, y)) continue;
      const path = y.path ?? x.path;
      throw new UsageError(
        `${x.what} and ${y.what} name the same file${path === undefined ? '' : ` (${path})`}`,
      );
    }
  }
}

/**
 * Refuses, before anything is opened, files named twice: writing the output (or failures,
 * or trace) over the input or the task module would empty it before it is read, and two
 * writers of one file would overwrite each other. Standard input and output count, when
 * they are files: `fanout run ... -o data.jsonl < data.jsonl` would read an emptied file.
 * (After `-i data.jsonl > data.jsonl` the shell has emptied it already: the run, refused,
 * at least does not report 0 items as a success.)
 */
function distinctFiles(modulePath: string, flags: RunFlags): Named[] {
  const stdin = standardFile(0);
  const stdout = standardFile(1);
  const named: Named[] = [{ what: 'the task module', path: modulePath }];
  const add = (flag: string, path: string | undefined, stream: string, stats?: Stats) => {
    if (path === undefined) return;
    if (path !== '-') named.push({ what: flag, path });
    else if (stats) named.push({ what: `${flag} (${stream})`, stats });
  };
  add('--input', flags.input, 'standard input', stdin);
  add('--output', flags.output, 'standard output', stdout);
  add('--errors', flags.errors, 'standard output', stdout);
  add('--trace', flags.trace, 'standard output', stdout);
  const onStdout = [
    ['--output', flags.output],
    ['--errors', flags.errors],
    ['--trace', flags.trace],
  ].filter(([, path]) => path === '-');
  if (onStdout.length > 1) {
    throw new UsageError(
      `${onStdout[0]![0]} and ${onStdout[1]![0]} both go to standard output: give one a file`,
    );
  }
  refuseSame(named);
  return named;
}

/**
 * A file that the run writes (the output, the failures, the trace), opened but not emptied
 * yet: each is opened before any is emptied, so that one that cannot be written is a usage
 * error with the others left as they were. A named pipe is opened only when it is written
 * (its opening waits for a reader, and its reader stops at our first close).
 */
interface Opened {
  readonly path: string;
  /** Undefined for a named pipe (see above). */
  readonly handle: FileHandle | undefined;
  /** Whether opening made it: a run that does not start removes it again. */
  readonly created: boolean;
}

/** Opens `path` to be written, making it if need be, without emptying it (see Opened). */
async function openUnemptied(path: string, what: string): Promise<Opened> {
  const { O_WRONLY, O_CREAT, O_EXCL } = constants;
  try {
    if (statSync(path, { throwIfNoEntry: false })?.isFIFO()) {
      return { path, handle: undefined, created: false };
    }
    try {
      return { path, handle: await open(path, O_WRONLY | O_CREAT | O_EXCL), created: true };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      return { path, handle: await open(path, O_WRONLY | O_CREAT), created: false };
    }
  } catch (error) {
    throw new UsageError(`cannot write ${what} ${path}: ${(error as Error).message}`);
  }
}

/**
 * Where a file opened for the run writes, now that every check passed: standard output or
 * error when it is the very file they are (`--errors /dev/stderr 2>> run.log`: opened again,
 * it would be emptied and written from its start), else the file, emptied (a device: as is).
 */
async function emptied(file: Opened, what: string): Promise<Writable> {
  try {
    if (!file.handle) return createWriteStream(file.path);
    const stats = await file.handle.stat();
    for (const [fd, stream] of [
      [1, process.stdout],
      [2, process.stderr],
    ] as const) {
      const standard = standardFile(fd);
      if (standard && standard.dev === stats.dev && standard.ino === stats.ino) {
        await file.handle.close();
        return stream;
      }
    }
    if (stats.isFile()) await file.handle.truncate(0);
    return file.handle.createWriteStream();
  } catch (error) {
    throw new UsageError(`cannot write ${what} ${file.path}: ${(error as Error).message}`);
  }
}

/**
 * Refuses two of the files opened for the run that are one, or one that is the input or
 * the module, now that all exist: by inode, which sees what names cannot (`link/../x`, a hard
 * link, /proc/self/fd/N).
 */
async function distinctOpened(
  files: readonly (readonly [string, Opened | undefined])[],
  others: readonly Named[],
): Promise<void> {
  const named: Named[] = [...others];
  for (const [what, file] of files) {
    if (file?.handle) named.push({ what, path: file.path, stats: await file.handle.stat() });
  }
  refuseSame(named);
}

/** Lets go of the files opened for a run that does not start; those it made go again. */
async function abandon(files: readonly Opened[]): Promise<void> {
  for (const file of files) {
    await file.handle?.close().catch(() => {});
    if (file.created) await rm(file.path, { force: true }).catch(() => {});
  }
}

/**
 * The input's records. A JSON array is read and parsed whole before any output is emptied,
 * so that one that is no array is a usage error with the output file left as it was.
 * (Line formats are read as they go: standard input stays paused until then.)
 */
async function parsedFirst(stream: Readable, format: Format): Promise<AsyncIterable<InputRecord>> {
  const all = readRecords(stream, format);
  if (format !== 'json') return all;
  const first = await all.next();
  return (async function* () {
    if (!first.done) yield first.value;
    yield* all;
  })();
}

/**
 * A Ctrl-C this soon after the first is taken for the same (see runTask); a later one ends
 * the process at once.
 */
const SIGINT_REPEAT_MS = 500;

/** Characters of results that may be read for and not yet written (see runTask). */
const RESULTS_BUDGET = 64 * 2 ** 20;

/** Events written at a time: the trace as one string passes V8's longest (~2.8M items). */
const TRACE_BATCH = 10_000;

/** A call's Chrome trace as JSON, in parts of a batch of events each (no line breaks). */
function* traceParts(trace: Pick<CallTrace, 'toChromeTrace'>): Generator<string> {
  const { traceEvents, ...rest } = trace.toChromeTrace();
  yield '{"traceEvents":[';
  for (let i = 0; i < traceEvents.length; i += TRACE_BATCH) {
    const batch = traceEvents.slice(i, i + TRACE_BATCH).map((event) => JSON.stringify(event));
    yield (i > 0 ? ',' : '') + batch.join(',');
  }
  // The other keys, after the events: `{"displayTimeUnit":...}` without its brace.
  yield `],${JSON.stringify(rest).slice(1)}`;
}

/** Writes a call's Chrome trace to `path`, its events a batch at a time. */
export function writeTrace(path: string, trace: Pick<CallTrace, 'toChromeTrace'>): void {
  const fd = openSync(path, 'w');
  try {
    for (const part of traceParts(trace)) writeSync(fd, part);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a call's Chrome trace to `writer` (standard output), a part a line (JSON allows
 * the line breaks between them), waiting when it asks to; then ends it.
 */
async function writeTraceTo(
  writer: RecordWriter,
  trace: Pick<CallTrace, 'toChromeTrace'>,
): Promise<void> {
  for (const part of traceParts(trace)) {
    if (writer.error) break;
    const drained = writer.write(part);
    if (drained) await drained;
  }
  await writer.end();
}

/** Runs the command; returns the exit status. */
export async function runTask(modulePath: string, flags: RunFlags): Promise<number> {
  const say = (line: string) => {
    if (!flags.quiet) process.stderr.write(`${line}\n`);
  };
  // Else what tasks write to standard output would land among the records (or the trace).
  if ([flags.output, flags.errors, flags.trace].includes('-')) taskOutputToStderr();
  const started = performance.now();
  let task: Awaited<ReturnType<typeof taskFromArgs>>['task'];
  let input: ReturnType<typeof openInput>;
  let records: AsyncIterable<InputRecord>;
  let output: RecordWriter;
  let errors: RecordWriter | undefined;
  // With --trace -, made now: it answers for standard output's failures (see cli.ts).
  let traceOut: RecordWriter | undefined;
  // Every check comes before any file is emptied: a bad --trace path (or input) leaves an
  // existing output as it was. The files are opened first, then the input read as far as
  // it is before the run (a JSON array, whole), then they are emptied.
  const opened: Opened[] = [];
  const openFile = async (path: string | undefined, what: string) => {
    if (path === undefined || path === '-') return undefined;
    const file = await openUnemptied(path, what);
    opened.push(file);
    return file;
  };
  const controller = new AbortController();
  // One listener for the whole command (with none, a Ctrl-C kills the process as it comes).
  // Before the run starts (a JSON array is read whole first), a Ctrl-C leaves no file made.
  // Then it stops the run, which flushes what it wrote and says so. Another one ends the
  // process at once (a reader that takes no more output can hold that flush), unless it
  // comes with the first: `timeout -s INT` signals the process and then its group.
  let settingUp = true;
  let interruptedEarly = false;
  let interruptedAt: number | undefined;
  let stopBar = () => {};
  const onSigint = () => {
    if (settingUp) {
      if (interruptedEarly) return;
      interruptedEarly = true;
      void abandon(opened).finally(() => process.exit(130));
    } else if (interruptedAt === undefined) {
      interruptedAt = performance.now();
      say(
        'fanout run: interrupted: stopping, and writing what is done (Ctrl-C again ends at once)',
      );
      controller.abort(new Interrupted('interrupted'));
    } else if (performance.now() - interruptedAt >= SIGINT_REPEAT_MS) {
      stopBar(); // (it hides the terminal's cursor until it stops)
      process.exit(130);
    }
  };
  process.on('SIGINT', onSigint);
  try {
    ({ task } = await taskFromArgs(modulePath, flags.export));
    const named = distinctFiles(modulePath, flags);
    input = openInput(flags.input);
    const outputFile = await openFile(flags.output, 'the output');
    const errorsFile = await openFile(flags.errors, 'failures to');
    const traceFile = await openFile(flags.trace, 'the trace to');
    await distinctOpened(
      [
        ['--output', outputFile],
        ['--errors', errorsFile],
        ['--trace', traceFile],
      ],
      // Against the module, the input, and the standard streams that are files (`-o -` to
      // a file: those named by no path).
      named.filter(
        ({ what, path }) => path === undefined || what === '--input' || what === 'the task module',
      ),
    );
    records = await parsedFirst(input.stream, flags.format);
    // Emptied last, the output: what fails before it is left as it was.
    if (traceFile?.handle) {
      // (Emptied now, so that no trace of an earlier run stays; written when the run ends,
      // as to '-' where it is standard output or error.)
      const stream = await emptied(traceFile, 'the trace to');
      if (stream === process.stdout || stream === process.stderr) {
        traceOut = new RecordWriter(stream, 'lines');
      } else {
        stream.destroy();
      }
    }
    const writer = async (file: Opened | undefined, format: Format, what: string) =>
      new RecordWriter(file ? await emptied(file, what) : process.stdout, format);
    errors = flags.errors ? await writer(errorsFile, 'jsonl', 'failures to') : undefined;
    output = await writer(outputFile, flags.format, 'the output');
    if (flags.trace === '-') traceOut = new RecordWriter(process.stdout, 'lines');
  } catch (error) {
    await abandon(opened);
    // (Its files closed under it: nothing to tell but the interruption's status.)
    if (!interruptedEarly) process.off('SIGINT', onSigint);
    if (interruptedEarly) return 130;
    if (error instanceof UsageError) {
      process.stderr.write(`fanout run: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (interruptedEarly) return 130; // (its files are being let go: the process ends)
  settingUp = false;
  // A file named by a path that is standard output itself (`-o /dev/stdout`) takes it too.
  if ([output, errors, traceOut].some((writer) => writer?.onStdout)) taskOutputToStderr();
  const runner = createRunner(flags.threads === undefined ? {} : { threads: flags.threads });
  if (flags.verbose) say(`fanout run: ${describeMachine()}; ${counted(runner.threads, 'thread')}`);

  // A file that cannot be written any more stops the run, as does the reader of a pipe
  // that goes away (`fanout run ... | head`); what happened is told at the end.
  const stopWriting = () => controller.abort(new WriteFailed());
  output.onError = stopWriting;
  if (errors) errors.onError = stopWriting;

  // What the errors file needs of each item in flight: bounded by the window.
  const pending = new Map<number, { line: number; input: unknown; bytes: number | undefined }>();
  let failed = 0;
  let firstFailure: string | undefined;
  const recordFailure = async (
    line: number,
    inputValue: unknown,
    code: string,
    message: string,
  ) => {
    failed++;
    firstFailure ??= `line ${line}: ${code}: ${message}`;
    if (flags.verbose) say(`fanout run: line ${line} failed: ${code}: ${message}`);
    let written: Promise<void> | undefined;
    try {
      written = errors?.write({ line, input: inputValue, code, message });
    } catch {
      // An input JSON cannot write back (nested too deep): the record goes without it.
      written = errors?.write({ line, code, message });
    }
    await written;
  };

  // Fail-fast ends the input at a line that does not parse, as a task's failure ends the
  // run: the items before it still finish and are written (as --threads 0 writes them),
  // then it is the run's failure, unless one of those failed first.
  let malformedEnd: { readonly error: MalformedInput; readonly text: string } | undefined;
  let index = 0;
  /** The bytes of the input that the items finished took (see InputRecord.bytes). */
  let doneBytes = 0;
  /** Whether every record was read (the blank lines at the end of JSONL are in no record). */
  let readAll = false;
  // The window bounds items, not bytes: results of a megabyte each would fill the heap
  // (16,384 of them). What was read and is not yet written is also kept under
  // RESULTS_BUDGET characters, by the size of the results written so far.
  const averageResult = () => (output.count > 0 ? output.chars / output.count : 0);
  const overBudget = () => pending.size > 0 && pending.size * averageResult() > RESULTS_BUDGET;
  let roomForResults: (() => void) | undefined;
  // The run is over: a reader waiting for room ends (and closes the input).
  let over = false;
  const wakeReader = () => {
    const wake = roomForResults;
    roomForResults = undefined;
    wake?.();
  };
  async function* items(): AsyncGenerator<unknown> {
    for await (const record of records) {
      while (!over && overBudget()) {
        await new Promise<void>((resolve) => {
          roomForResults = resolve;
        });
      }
      if (over) return;
      if (!record.ok) {
        // (No stack: it would show only this loop, and cost ~4 µs a malformed line.)
        const malformed = stackless(() => new MalformedInput(record.line, record.error));
        if (flags.policy === 'fail-fast') {
          malformedEnd = { error: malformed, text: record.text };
          return;
        }
        doneBytes += record.bytes ?? 0;
        await recordFailure(record.line, record.text, malformed.code, malformed.message);
        continue;
      }
      pending.set(index++, { line: record.line, input: record.value, bytes: record.bytes });
      yield record.value;
    }
    readAll = true;
  }

  const bar =
    process.stderr.isTTY && !flags.quiet
      ? new SingleBar({
          format:
            input.size === undefined
              ? 'fanout run | {done} done | {failed} failed | {rate}/s'
              : 'fanout run [{bar}] {percentage}% | {done} done | {failed} failed | {rate}/s | ETA {eta_formatted}',
          hideCursor: true,
          etaBuffer: 50,
        })
      : undefined;
  bar?.start(input.size ?? 0, 0, { done: 0, failed: 0, rate: 0 });
  stopBar = () => bar?.stop();
  let peakHeap = process.memoryUsage().heapUsed;
  // Reading runs up to a window ahead of the work: the bar shows how much of the input the
  // items finished took (a JSON array, read whole: their share of its items).
  const drawBar = (done: number, finished: number, rate: number) => {
    const size = input.size ?? 0;
    let part = doneBytes;
    if (flags.format === 'json') part = index > 0 ? (finished / index) * size : 0;
    else if (readAll && pending.size === 0) part = size;
    bar?.update(Math.min(size, part), { done, failed, rate: Math.round(rate) });
  };
  const onProgress = (progress: Progress) => {
    if (flags.verbose) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    drawBar(progress.done, progress.done + progress.failed, progress.rate);
  };

  let stats: CallStats | undefined;
  let status = 0;
  let traceFailed = false;
  /** The run's trace, for standard output: written after the results and failures. */
  let traceToWrite: CallTrace | undefined;
  try {
    const stream = runner.map(task, items(), {
      policy: 'settle',
      ordered: !flags.unordered,
      signal: controller.signal,
      retries: flags.retries,
      chunkSize: flags.chunk,
      onProgress,
      onStats: (s) => {
        stats = s;
      },
      ...(flags.trace === undefined
        ? {}
        : {
            onTrace: (trace: CallTrace) => {
              if (traceOut) {
                traceToWrite = trace;
              } else {
                try {
                  writeTrace(flags.trace!, trace);
                } catch (error) {
                  traceFailed = true;
                  process.stderr.write(
                    `fanout run: cannot write the trace: ${(error as Error).message}\n`,
                  );
                }
              }
              if (flags.verbose) say(trace.summary());
            },
          }),
      ...(flags.timeout === undefined ? {} : { timeout: flags.timeout }),
      ...(flags.concurrency === undefined ? {} : { concurrency: flags.concurrency }),
      ...(flags.window === undefined ? {} : { window: flags.window }),
    });
    for await (const outcome of stream) {
      const item = pending.get(outcome.job as number);
      doneBytes += item?.bytes ?? 0;
      pending.delete(outcome.job as number);
      if (roomForResults && !overBudget()) wakeReader();
      let failure: { readonly code: string; readonly message: string } | undefined;
      if (outcome.status === 'fulfilled') {
        let drained: Promise<void> | undefined;
        try {
          drained = output.write(outcome.value);
        } catch (error) {
          // A result the output format cannot hold (a BigInt, a cycle; a line break in
          // --format lines) fails its item.
          failure = {
            code: 'ERR_OUTPUT_FORMAT',
            message: `its result cannot be written as ${flags.format}: ${(error as Error).message}`,
          };
        }
        if (failure === undefined) {
          if (drained) await drained;
          continue;
        }
      } else {
        failure = outcome.reason;
      }
      await recordFailure(item?.line ?? -1, item?.input, failure.code, failure.message);
      if (flags.policy === 'fail-fast') break; // leaving the loop stops every thread
    }
    if (malformedEnd && failed === 0) {
      const { error, text } = malformedEnd;
      await recordFailure(error.line, text, error.code, error.message);
    }
    status = failed > 0 ? 1 : 0;
  } catch (error) {
    if (error instanceof Interrupted) {
      status = 130;
    } else if (error instanceof WriteFailed) {
      status = 1;
    } else if (error instanceof UsageError) {
      process.stderr.write(`fanout run: ${error.message}\n`);
      status = 2;
    } else {
      throw error;
    }
  } finally {
    over = true;
    wakeReader(); // (a reader waiting for room ends: nothing takes its items any more)
    // (The last progress report comes before the loop above took the last results.)
    const rate = (output.count + failed) / ((performance.now() - started) / 1000);
    drawBar(output.count, output.count + failed, rate);
    bar?.stop();
    await output.end();
    await errors?.end();
    await runner.destroy();
    if (flags.input === '-') process.stdin.destroy();
    if (traceOut) {
      if (traceToWrite) await writeTraceTo(traceOut, traceToWrite);
      else await traceOut.end();
      if (traceOut.error && !readerGone(traceOut.error)) {
        traceFailed = true;
        process.stderr.write(`fanout run: cannot write the trace: ${traceOut.error.message}\n`);
      }
    }
  }
  process.off('SIGINT', onSigint);
  // The reader of the output went away (or of the failures or the trace, where standard
  // output took them): stop quietly, with the status of SIGPIPE, as Unix tools do. A write
  // that failed otherwise (even after the last result) is told.
  if (
    [output, errors, traceOut].some(
      (writer) => writer && (writer === output || writer.onStdout) && readerGone(writer.error),
    )
  )
    return 141;
  const broken = output.error ?? errors?.error;
  if (broken) {
    const what = output.error ? 'the output' : 'the failures file';
    process.stderr.write(`fanout run: cannot write ${what}: ${broken.message}\n`);
    if (status !== 130) status = 1;
  }
  if (traceFailed && status === 0) status = 1;
  const wallMs = performance.now() - started;
  if (status === 130) say(`fanout run: interrupted after ${counted(output.count, 'result')}`);
  else if (flags.policy === 'fail-fast' && firstFailure) {
    // (An error: said under --quiet too.)
    process.stderr.write(`fanout run: stopped at the first failure, ${firstFailure}\n`);
  }
  const failuresIn = flags.errors === '-' ? 'on standard output' : `in ${flags.errors}`;
  say(
    formatSummary(
      output.count + failed,
      failed,
      // (An interrupted run's stopped attempts count from when they were sent: no speedup.)
      status === 130 ? undefined : stats,
      wallMs,
      output.error !== undefined,
    ) + (flags.errors && failed > 0 && !errors?.error ? ` (failures ${failuresIn})` : ''),
  );
  if (flags.verbose) say(`fanout run: peak heap ${(peakHeap / 2 ** 20).toFixed(1)} MiB`);
  return status;
}
