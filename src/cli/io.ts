// What `fanout run` and `fanout advise` share: naming the task from the command line,
// reading inputs in each format as a stream, and writing results with backpressure.
import { constants } from 'node:buffer';
import { Console } from 'node:console';
import { createReadStream, existsSync, openSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { loadTask, type TaskFunction } from '../../workers/task-host.js';
import { TASK_STDOUT_ENV } from '../protocol.js';
import { defineTask, type Task } from '../task.js';

export const FORMATS = ['jsonl', 'json', 'lines'] as const;
export type Format = (typeof FORMATS)[number];

/** Characters of records that a RecordWriter writes at once, at most a turn late. */
const FLUSH_AT = 64 * 1024;

/** A mistake in how the command was called: exit status 2, before any work starts. */
export class UsageError extends Error {}

/** RecordWriters open on standard output, which then handle its failures themselves. */
let writersOnStdout = 0;

/** Whether a RecordWriter handles failures of standard output (see cli.ts). */
export const stdoutHandled = (): boolean => writersOnStdout > 0;

/**
 * Whether a write failed because its reader went away: a pipe closed (EPIPE), or a socket
 * closed with data still unread (ECONNRESET).
 */
export const readerGone = (error: NodeJS.ErrnoException | undefined): boolean =>
  error?.code === 'EPIPE' || error?.code === 'ECONNRESET';

/** Names the task and checks, on this thread, that the module loads and has the export. */
export async function taskFromArgs(
  modulePath: string,
  exportName: string,
): Promise<{ task: Task; fn: TaskFunction }> {
  const path = resolve(modulePath);
  if (!existsSync(path))
    throw new UsageError(`cannot find the task module ${modulePath} (${path})`);
  const task = defineTask(pathToFileURL(path), exportName);
  const loaded = await loadTask(task);
  if (!loaded.ok) {
    // A module that threw while loading tells only its own error: name the module.
    throw new UsageError(
      loaded.kind === 'not-found'
        ? loaded.message
        : `the task module ${modulePath} failed while loading: ${loaded.message}`,
    );
  }
  return { task, fn: loaded.fn };
}

/** One record of the input: a parsed value, or a line that could not be parsed. */
export type InputRecord = (
  | { readonly ok: true; readonly line: number; readonly value: unknown }
  | { readonly ok: false; readonly line: number; readonly text: string; readonly error: Error }
) & {
  /**
   * About how much of the input the record took (its characters, and the blank lines
   * before it, with their line ends; none for a JSON array): for a progress bar.
   */
  readonly chars?: number;
};

export interface InputSource {
  readonly stream: Readable;
  /** Bytes in the input when it is a file (for a progress bar), else undefined. */
  readonly size: number | undefined;
  /** Bytes read so far. */
  bytesRead(): number;
}

export function openInput(path: string): InputSource {
  if (path === '-') {
    // Counted by the stream itself: a 'data' listener would start the flow of the input at
    // once, and what flowed before the reader was attached would be lost.
    const stdin = process.stdin as Readable & { bytesRead?: number };
    return { stream: stdin, size: undefined, bytesRead: () => stdin.bytesRead ?? 0 };
  }
  if (!existsSync(path)) throw new UsageError(`cannot find the input file ${path}`);
  const stats = statSync(path);
  if (stats.isDirectory()) throw new UsageError(`the input ${path} is a directory, not a file`);
  // Opened here, so that a file that cannot be read is a usage error before any work.
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new UsageError(`cannot read the input file ${path}: ${(error as Error).message}`);
  }
  const stream = createReadStream(path, { fd });
  return { stream, size: stats.size, bytesRead: () => stream.bytesRead };
}

/**
 * The input's records as they are read, in bounded memory for `jsonl` and `lines` (one
 * record per line; blank lines of JSONL are skipped). `json` is one array, read whole.
 * A line that is not valid JSON is a record of its own, never a crash.
 */
export async function* readRecords(
  stream: Readable,
  format: Format,
  longest = constants.MAX_STRING_LENGTH,
): AsyncGenerator<InputRecord> {
  // Decoded as a stream, so that a character split between two reads stays whole.
  stream.setEncoding('utf8');
  if (format === 'json') {
    let text = '';
    for await (const chunk of stream) {
      if (text.length + chunk.length > longest) {
        throw new UsageError(
          `with --format json the input is read whole, and it has more characters than a string can hold (${longest}): use --format jsonl`,
        );
      }
      text += chunk;
    }
    text = withoutBom(text);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      // Where the parser stopped, when its message says (V8's does: "at position N"): the
      // line it is on, and the text around it; else the input's start.
      const at = /at position (\d+)/.exec((error as Error).message);
      const position = at ? Number(at[1]) : 0;
      let line = 1;
      for (let i = text.indexOf('\n'); i !== -1 && i < position; i = text.indexOf('\n', i + 1)) {
        line++;
      }
      const excerpt = text.slice(Math.max(0, position - 100), position + 100);
      yield { ok: false, line, text: excerpt, error: error as Error };
      return;
    }
    if (!Array.isArray(parsed)) {
      throw new UsageError('with --format json the input must be one JSON array');
    }
    // What was read goes as soon as it is parsed, each element once it was taken: the
    // whole input and every record need not stay in memory to the end of the run.
    text = '';
    for (let i = 0; i < parsed.length; i++) {
      const value = parsed[i];
      parsed[i] = undefined;
      yield { ok: true, line: i + 1, value };
    }
    return;
  }
  let line = 0;
  let chars = 0;
  for await (const read of linesOf(stream as AsyncIterable<string>, longest)) {
    line++;
    if (typeof read !== 'string') {
      // A line longer than a string can be: skipped, a failure of its own item.
      const error = new Error(`it has ${read.skipped} characters, more than a string can hold`);
      yield { ok: false, line, text: '', error, chars: chars + read.skipped + 1 };
      chars = 0;
      continue;
    }
    const text = line === 1 ? withoutBom(read) : read;
    chars += read.length + 1;
    if (format === 'lines') {
      yield { ok: true, line, value: text, chars };
      chars = 0;
      continue;
    }
    if (text.trim() === '') continue;
    let record: InputRecord;
    try {
      record = { ok: true, line, value: JSON.parse(text), chars };
    } catch (error) {
      record = { ok: false, line, text, error: error as Error, chars };
    }
    chars = 0;
    yield record;
  }
}

/** A text without the byte order mark that some editors put at its start. */
const withoutBom = (text: string): string => (text.startsWith('\uFEFF') ? text.slice(1) : text);

/** A line longer than `longest` characters: how many it had (see linesOf). */
interface LongLine {
  readonly skipped: number;
}

/**
 * The lines of a text read in pieces: ended by LF or CRLF, as JSONL defines them. (A lone
 * CR is no line break: it is whitespace inside a JSON value, which readline would split.)
 * The pieces of a long line are joined once, when it ends. A line longer than `longest`
 * characters (which no string could hold) is read to its end and dropped: its length
 * comes instead.
 */
async function* linesOf(
  chunks: AsyncIterable<string>,
  longest: number,
): AsyncGenerator<string | LongLine> {
  let parts: string[] = [];
  // Characters of the line so far (in `parts`, or skipped once it is too long).
  let length = 0;
  let skipping = false;
  const line = (last: string): string | LongLine => {
    const total = length + last.length;
    const whole = parts;
    const skipped = skipping;
    parts = [];
    length = 0;
    skipping = false;
    if (skipped || total > longest) return { skipped: total };
    const text = whole.length === 0 ? last : whole.join('') + last;
    return text.endsWith('\r') ? text.slice(0, -1) : text;
  };
  for await (const chunk of chunks) {
    let at = 0;
    for (let end = chunk.indexOf('\n'); end !== -1; end = chunk.indexOf('\n', at)) {
      yield line(chunk.slice(at, end));
      at = end + 1;
    }
    if (at < chunk.length) {
      length += chunk.length - at;
      if (!skipping && length > longest) {
        skipping = true;
        parts = [];
      }
      if (!skipping) parts.push(chunk.slice(at));
    }
  }
  if (length > 0 || skipping) yield line('');
}

/**
 * Writes one value per record. Records written together (a chunk's worth of results, in
 * one turn of the event loop) go to the stream in one write, at the end of that turn or
 * once 64 KiB are waiting: a write per record costs the main thread more than the record's
 * own JSON. A trickle of records is still written as it comes, a turn at a time. When the
 * stream asks to wait, `write` returns a promise for the moment it drains.
 */
export class RecordWriter {
  readonly #stream: Writable;
  readonly #format: Format;
  #count = 0;
  #chars = 0;
  #waiting = '';
  #scheduled = false;
  #drained: (() => void) | undefined;
  #drain: Promise<void> | undefined;
  #error: NodeJS.ErrnoException | undefined;
  /** Called once if the stream fails (EPIPE: its reader went away); nothing is written after. */
  onError: ((error: NodeJS.ErrnoException) => void) | undefined;

  constructor(stream: Writable, format: Format) {
    this.#stream = stream;
    this.#format = format;
    if (stream === process.stdout) writersOnStdout++;
    stream.on('error', (error) => {
      if (this.#error) return;
      this.#error = error;
      this.#waiting = '';
      this.#drained?.();
      this.onError?.(error);
    });
  }

  get count(): number {
    return this.#count;
  }

  /** Writes to the stream (standard output itself, see writeStdout). */
  #write(text: string, done?: () => void): boolean {
    if (this.#stream === process.stdout) return writeStdout(text, done);
    return done ? this.#stream.write(text, done) : this.#stream.write(text);
  }

  /** Characters of the records written so far (their text, separators included). */
  get chars(): number {
    return this.#chars;
  }

  /** Why the stream failed, if it did. */
  get error(): NodeJS.ErrnoException | undefined {
    return this.#error;
  }

  /**
   * Writes `value`, or throws (writing nothing) when the format cannot hold it: JSON
   * cannot represent a BigInt, a cycle, nesting too deep for JSON.stringify; a line cannot
   * hold a line break.
   */
  write(value: unknown): Promise<void> | undefined {
    if (this.#error) return undefined;
    let text: string;
    if (this.#format === 'lines' && typeof value === 'string') {
      if (/[\n\r]/.test(value)) {
        throw new Error(
          'a string with a line break, where --format lines writes one result a line',
        );
      }
      text = `${value}\n`;
    } else {
      // A result that JSON has no text for (undefined) is written as null.
      const json = JSON.stringify(value) ?? 'null';
      text = this.#format === 'json' ? `${this.#count === 0 ? '[\n' : ',\n'}${json}` : `${json}\n`;
    }
    this.#count++;
    this.#chars += text.length;
    this.#waiting += text;
    if (this.#waiting.length >= FLUSH_AT) this.#flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.#flush();
      });
    }
    return this.#drain;
  }

  #flush(): void {
    if (this.#waiting === '' || this.#error) return;
    const text = this.#waiting;
    this.#waiting = '';
    if (!this.#write(text) && !this.#drain) {
      this.#drain = new Promise<void>((done) => {
        const drained = () => {
          this.#stream.off('drain', drained);
          this.#drained = undefined;
          this.#drain = undefined;
          done();
        };
        this.#drained = drained;
        this.#stream.on('drain', drained);
      });
    }
  }

  /**
   * Completes the output (a JSON array is closed, even when empty) and flushes it; after
   * a failure of the stream, only lets go of it.
   */
  async end(): Promise<void> {
    this.#flush();
    if (!this.#error) {
      if (this.#format === 'json') this.#write(this.#count === 0 ? '[]\n' : '\n]\n');
      await new Promise<void>((done) => {
        if (this.#stream === process.stdout || this.#stream === process.stderr) {
          this.#write('', () => done());
        } else {
          this.#stream.end(done);
        }
      });
    }
    // A failed write tells its error a turn after its callback (standard output to a
    // full disk, say): still this writer's to take, and the run's to report.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.#stream === process.stdout) writersOnStdout--;
  }
}

/**
 * Writes to standard output itself, whoever took over `process.stdout.write` (see
 * taskOutputToStderr): a command's own output goes there.
 */
export function writeStdout(text: string, done?: () => void): boolean {
  const write = (Object.getPrototypeOf(process.stdout) as Writable).write as (
    text: string,
    done?: () => void,
  ) => boolean;
  return write.call(process.stdout, text, done);
}

/**
 * What tasks write to standard output (console.log, process.stdout.write) goes to standard
 * error from now on, for a command whose own output is standard output (written with
 * writeStdout): in the worker threads that start after this (told through their
 * environment) and in this thread (a module's top-level code, which runs here to be
 * checked, and tasks under --threads 0).
 */
export function taskOutputToStderr(): void {
  process.env[TASK_STDOUT_ENV] = 'stderr';
  globalThis.console = new Console({ stdout: process.stderr, stderr: process.stderr });
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
}
