// What `fanout run` and `fanout advise` share: naming the task from the command line,
// reading inputs in each format as a stream, and writing results with backpressure.
import { constants, isUtf8 } from 'node:buffer';
import { Console } from 'node:console';
import { createReadStream, existsSync, openSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { loadTask, type TaskFunction, taskModuleUrl } from '../../workers/task-host.js';
import { TASK_STDOUT_ENV } from '../protocol.js';
import { defineTask, type Task } from '../task.js';
import { elementLines, jsonErrorAt, lineAt } from './json-text.js';

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
  // (A JavaScript module not there runs the TypeScript beside it: see taskModuleUrl.)
  const url = pathToFileURL(path).href;
  if (!existsSync(path) && taskModuleUrl(url) === url)
    throw new UsageError(`cannot find the task module ${modulePath} (${path})`);
  const task = defineTask(url, exportName);
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
   * The bytes of the input the record took (its line with its line end, and the blank
   * lines before it; none for a JSON array): for a progress bar, against the file's size.
   */
  readonly bytes?: number;
};

export interface InputSource {
  readonly stream: Readable;
  /** Bytes in the input when it is a file (for a progress bar), else undefined. */
  readonly size: number | undefined;
  /** Bytes read so far. */
  bytesRead(): number;
}

/**
 * Opens the input named by `flag` (`--input`, `--sample`: named in the messages) as a
 * stream; '-' is standard input.
 */
export function openInput(path: string, flag = '--input'): InputSource {
  if (path === '-') {
    // Counted by the stream itself: a 'data' listener would start the flow of the input at
    // once, and what flowed before the reader was attached would be lost.
    const stdin = process.stdin as Readable & { bytesRead?: number };
    return { stream: stdin, size: undefined, bytesRead: () => stdin.bytesRead ?? 0 };
  }
  const name = flag === '--input' ? 'input' : flag.slice(2);
  if (!existsSync(path)) throw new UsageError(`cannot find the ${name} file ${path} (${flag})`);
  const stats = statSync(path);
  if (stats.isDirectory()) {
    throw new UsageError(`the ${name} ${path} is a directory, not a file (${flag})`);
  }
  // Opened here, so that a file that cannot be read is a usage error before any work.
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new UsageError(
      `cannot read the ${name} file ${path} (${flag}): ${(error as Error).message}`,
    );
  }
  const stream = createReadStream(path, { fd });
  return { stream, size: stats.size, bytesRead: () => stream.bytesRead };
}

/** What is wrong with a line of the input that could not be read (see InputRecord). */
export const malformedLine = (line: number, cause: Error): string =>
  `line ${line} ${cause instanceof SyntaxError ? 'is not valid JSON' : 'cannot be read'}: ${cause.message}`;

/** Why an input that is not UTF-8 cannot be read (the text shows U+FFFD for its bytes). */
const notUtf8 = () => new Error('it is not valid UTF-8');

/**
 * The input's records as they are read, in bounded memory for `jsonl` and `lines` (one
 * record per line; blank lines of JSONL are skipped). `json` is one array, read whole.
 * A line that is not valid JSON, or not UTF-8, is a record of its own, never a crash.
 */
export async function* readRecords(
  stream: Readable,
  format: Format,
  longest = constants.MAX_STRING_LENGTH,
): AsyncGenerator<InputRecord> {
  if (format === 'json') {
    yield* readArray(stream, longest);
    return;
  }
  const lines = new LineSplitter(longest);
  let line = 0;
  let bytes = 0;
  for await (const chunk of chunksOf(stream)) {
    for (const read of lines.push(chunk)) {
      line++;
      bytes += lines.bytes;
      if (typeof read !== 'string') {
        // Skipped, a failure of its own item: a line longer than a string can be, or one
        // whose bytes are not UTF-8 (its text has U+FFFD for them).
        const error =
          read.kind === 'long'
            ? new Error(`it has ${read.chars} characters, more than a string can hold`)
            : notUtf8();
        const text = read.kind === 'long' ? '' : line === 1 ? withoutBom(read.text) : read.text;
        yield { ok: false, line, text, error, bytes };
        bytes = 0;
        continue;
      }
      const text = line === 1 ? withoutBom(read) : read;
      if (format === 'lines') {
        yield { ok: true, line, value: text, bytes };
        bytes = 0;
        continue;
      }
      if (text.trim() === '') continue;
      let record: InputRecord;
      try {
        record = { ok: true, line, value: JSON.parse(text), bytes };
      } catch (error) {
        record = { ok: false, line, text, error: error as Error, bytes };
      }
      bytes = 0;
      yield record;
    }
  }
}

/** A JSON array, read whole: its elements, each with the line it starts on. */
async function* readArray(stream: Readable, longest: number): AsyncGenerator<InputRecord> {
  // Decoded as a stream, so that a character split between two reads stays whole; bytes
  // that are not UTF-8 stop the reading (fatal), and are then found.
  const decoder = strictDecoder();
  let text = '';
  // The last bytes read (three at most): where a character cut between reads begins.
  let recent = EMPTY;
  for await (const chunk of chunksOf(stream)) {
    let piece: string;
    try {
      piece = chunk === undefined ? decoder.decode() : decoder.decode(chunk, { stream: true });
    } catch {
      yield notUtf8Record(text, Buffer.concat([incompleteEnd(recent), chunk ?? EMPTY]));
      return;
    }
    if (text.length + piece.length > longest) {
      throw new UsageError(
        `with --format json the input is read whole, and it has more characters than a string can hold (${longest}): use --format jsonl`,
      );
    }
    text += piece;
    if (chunk !== undefined) {
      recent = lastBytes(recent, chunk);
    }
  }
  text = withoutBom(text);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // Where the text stops being JSON: the line it is on, and the text around it. (Node
    // 20's messages seldom say: "Unexpected token", "Unexpected end of JSON input".)
    let position = jsonErrorAt(text);
    if (position === -1) {
      const at = /at position (\d+)/.exec((error as Error).message);
      position = at ? Number(at[1]) : 0;
    } else if (position === text.length) {
      // It ended too early: where its last value stops, not the blank lines after.
      position = text.trimEnd().length;
    }
    const excerpt = text.slice(Math.max(0, position - 100), position + 100);
    yield { ok: false, line: lineAt(text, position), text: excerpt, error: error as Error };
    return;
  }
  if (!Array.isArray(parsed)) {
    throw new UsageError('with --format json the input must be one JSON array');
  }
  const lines = elementLines(text, parsed.length);
  // What was read goes as soon as it is parsed, each element once it was taken: the
  // whole input and every record need not stay in memory to the end of the run.
  text = '';
  for (let i = 0; i < parsed.length; i++) {
    const value = parsed[i];
    parsed[i] = undefined;
    yield { ok: true, line: lines[i]!, value };
  }
}

/**
 * The failure of a JSON input that is not UTF-8: `text` was decoded before `bytes`, which
 * begin with a whole character and hold the first that is not UTF-8 (or end in the middle
 * of one). Names its line, with the text around it.
 */
function notUtf8Record(text: string, bytes: Buffer): InputRecord {
  const bad = firstInvalidByte(bytes);
  const at = bad === -1 ? bytes.length : bad;
  let line = lineAt(text, text.length);
  for (let i = bytes.indexOf(LF); i !== -1 && i < at; i = bytes.indexOf(LF, i + 1)) line++;
  const before = at >= 100 ? '' : text.slice(Math.max(0, text.length - (100 - at)));
  const excerpt = before + bytes.toString('utf8', Math.max(0, at - 100), at + 100);
  return { ok: false, line, text: excerpt, error: notUtf8() };
}

/** A text without the byte order mark that some editors put at its start. */
const withoutBom = (text: string): string => (text.startsWith('\uFEFF') ? text.slice(1) : text);

const EMPTY: Buffer = Buffer.alloc(0);
const LF = 10;

/**
 * The stream's chunks as bytes (a stream of strings, as a test gives, is encoded), then
 * `undefined` for its end.
 */
async function* chunksOf(stream: Readable): AsyncGenerator<Buffer | undefined> {
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  }
  yield undefined;
}

/** The last three bytes (a character's most but one) of `before` followed by `bytes`. */
const lastBytes = (before: Buffer, bytes: Buffer): Buffer =>
  (bytes.length >= 3 ? bytes : Buffer.concat([before, bytes])).subarray(-3);

/** The bytes at the end of `bytes` that begin a character without ending it. */
function incompleteEnd(bytes: Buffer): Buffer {
  for (let i = bytes.length - 1; i >= Math.max(0, bytes.length - 3); i--) {
    const byte = bytes[i]!;
    if (byte < 0x80) return EMPTY;
    if (byte >= 0xc0) {
      const size = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
      return bytes.length - i < size ? bytes.subarray(i) : EMPTY;
    }
  }
  return EMPTY;
}

/**
 * The index of the first byte of `bytes` that does not belong to a valid UTF-8 character
 * (one cut off by the end counts), or -1 when all do. As the WHATWG decoder reads them:
 * no overlong forms, no surrogates, nothing past U+10FFFF.
 */
function firstInvalidByte(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i++;
      continue;
    }
    // How many bytes follow the lead, and the range the first of them must be in.
    let more: number;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) more = 1;
    else if (lead >= 0xe0 && lead <= 0xef) {
      more = 2;
      if (lead === 0xe0) low = 0xa0;
      if (lead === 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      more = 3;
      if (lead === 0xf0) low = 0x90;
      if (lead === 0xf4) high = 0x8f;
    } else return i;
    if (i + more >= bytes.length) return i;
    const second = bytes[i + 1]!;
    if (second < low || second > high) return i;
    for (let k = 2; k <= more; k++) {
      const next = bytes[i + k]!;
      if (next < 0x80 || next > 0xbf) return i;
    }
    i += more + 1;
  }
  return -1;
}

/** A line the reader cannot give as text, and why: too long for a string, or not UTF-8. */
type BadLine =
  | { readonly kind: 'long'; readonly chars: number }
  | { readonly kind: 'utf8'; readonly text: string };

/** A decoder that refuses bytes that are not UTF-8, and keeps a byte order mark. */
const strictDecoder = () => new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Splits bytes, given a piece at a time, into lines: ended by LF or CRLF, as JSONL defines
 * them. (A lone CR is no line break: it is whitespace inside a JSON value, which readline
 * would split.) The lines a piece holds whole are checked and decoded together, at once;
 * a line split between pieces is decoded as it comes, its parts joined when it ends. A
 * line longer than `longest` characters (which no string could hold) is read to its end
 * and dropped: its length comes instead. A line whose bytes are not UTF-8 comes as such,
 * its text with U+FFFD in their place.
 */
class LineSplitter {
  /** The bytes that the line given last took, its line end included (for a progress bar). */
  bytes = 0;
  readonly #longest: number;
  // The line begun in an earlier piece: its text so far, in parts (none once it is too
  // long), its characters and bytes, and whether it is too long or not UTF-8.
  #open = false;
  #parts: string[] = [];
  #length = 0;
  #lineBytes = 0;
  #tooLong = false;
  #invalid = false;
  #decoder = strictDecoder();
  /** Its last bytes (three at most): where a character cut between pieces begins. */
  #recent = EMPTY;

  constructor(longest: number) {
    this.#longest = longest;
  }

  /** The lines that end in `piece` (`undefined`: the end of the input, and the last line). */
  *push(piece: Buffer | undefined): Generator<string | BadLine> {
    if (piece === undefined) {
      if (this.#open) yield this.#close(EMPTY, 0);
      return;
    }
    let at = 0;
    if (this.#open) {
      const first = piece.indexOf(LF);
      if (first === -1) {
        this.#add(piece, true);
        return;
      }
      yield this.#close(piece.subarray(0, first), 1);
      at = first + 1;
    }
    const last = piece.lastIndexOf(LF);
    if (last >= at) {
      // The lines held whole, `at` to `last`: UTF-8 (the common case) is decoded at once.
      const whole = piece.subarray(at, last);
      if (isUtf8(whole)) {
        const text = whole.toString();
        // A text as long as its bytes is ASCII: each line's bytes are its characters.
        const ascii = text.length === whole.length;
        let byte = at;
        for (let from = 0; ; ) {
          const end = text.indexOf('\n', from);
          const line = end === -1 ? text.slice(from) : text.slice(from, end);
          if (ascii) this.bytes = line.length + 1;
          else {
            const byteEnd = end === -1 ? last : piece.indexOf(LF, byte);
            this.bytes = byteEnd - byte + 1;
            byte = byteEnd + 1;
          }
          yield line.length > this.#longest
            ? { kind: 'long', chars: line.length }
            : withoutCr(line);
          if (end === -1) break;
          from = end + 1;
        }
      } else {
        // Some are not UTF-8: each line on its own.
        for (let from = at; from <= last; ) {
          const end = piece.indexOf(LF, from);
          const bytes = piece.subarray(from, end);
          const line = bytes.toString();
          this.bytes = end - from + 1;
          yield line.length > this.#longest
            ? { kind: 'long', chars: line.length }
            : isUtf8(bytes)
              ? withoutCr(line)
              : { kind: 'utf8', text: withoutCr(line) };
          from = end + 1;
        }
      }
      at = last + 1;
    }
    if (at < piece.length) this.#add(piece.subarray(at), true);
  }

  /** Adds `bytes` to the line begun in an earlier piece (or begins it). */
  #add(bytes: Buffer, more: boolean): void {
    this.#open = true;
    this.#lineBytes += bytes.length;
    let text: string;
    try {
      text = this.#decoder.decode(bytes, { stream: more });
    } catch {
      // Not UTF-8: the rest is decoded as the text of a failure, U+FFFD for what is not
      // (from the character the decoder held, begun in an earlier piece).
      this.#invalid = true;
      this.#decoder = new TextDecoder('utf-8', { ignoreBOM: true });
      text = this.#decoder.decode(Buffer.concat([incompleteEnd(this.#recent), bytes]), {
        stream: more,
      });
    }
    this.#recent = lastBytes(this.#recent, bytes);
    this.#length += text.length;
    if (this.#tooLong) return;
    if (this.#length > this.#longest) {
      this.#tooLong = true;
      this.#parts = [];
    } else {
      this.#parts.push(text);
    }
  }

  /** Ends the line begun in an earlier piece with `bytes`, then `ending` bytes of LF. */
  #close(bytes: Buffer, ending: number): string | BadLine {
    this.#add(bytes, false);
    this.bytes = this.#lineBytes + ending;
    const parts = this.#parts;
    const result: string | BadLine = this.#tooLong
      ? { kind: 'long', chars: this.#length }
      : this.#invalid
        ? { kind: 'utf8', text: withoutCr(parts.join('')) }
        : withoutCr(parts.length === 1 ? parts[0]! : parts.join(''));
    if (this.#invalid) this.#decoder = strictDecoder();
    this.#open = false;
    this.#parts = [];
    this.#length = 0;
    this.#lineBytes = 0;
    this.#tooLong = false;
    this.#invalid = false;
    this.#recent = EMPTY;
    return result;
  }
}

/** A line without the CR of its CRLF ending. */
const withoutCr = (line: string): string =>
  line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;

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

  /** Whether it writes to standard output. */
  get onStdout(): boolean {
    return this.#stream === process.stdout;
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
   * hold a line feed, nor end in CR (a CR inside it is written: it reads back the same).
   */
  write(value: unknown): Promise<void> | undefined {
    if (this.#error) return undefined;
    let text: string;
    if (this.#format === 'lines' && typeof value === 'string') {
      // What reads back as it was: a lone CR is no line break (see LineSplitter), but one
      // at the end would read back as the CR of a CRLF, and go.
      if (value.includes('\n')) {
        throw new Error(
          'a string with a line break, where --format lines writes one result a line',
        );
      }
      if (value.charCodeAt(value.length - 1) === 13) {
        throw new Error('a string that ends in CR, which would read back without it (as CRLF)');
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
