// RecordWriter (fanout run's output): records written in one turn of the event loop go to
// the stream in one write, a trickle is still written a turn at a time, and the stream's
// backpressure reaches the caller.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RecordWriter } from '../src/cli/io.js';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** A stream that keeps what it receives; with `hold`, it acknowledges nothing until `release()`. */
function sink(options: { hold?: boolean; highWaterMark?: number } = {}) {
  const chunks: string[] = [];
  let held: Array<() => void> = [];
  const stream = new Writable({
    highWaterMark: options.highWaterMark ?? 16 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      if (options.hold) held.push(() => callback());
      else callback();
    },
  });
  return {
    stream,
    chunks,
    release() {
      const waiting = held;
      held = [];
      for (const callback of waiting) callback();
    },
  };
}

describe('RecordWriter', () => {
  it('writes the records of one turn in one write, in order', async () => {
    const out = sink();
    const writer = new RecordWriter(out.stream, 'jsonl');
    for (let i = 0; i < 1000; i++) writer.write({ i });
    expect(out.chunks).toEqual([]);
    await nextTurn();
    expect(out.chunks).toHaveLength(1);
    expect(out.chunks[0]).toBe(Array.from({ length: 1000 }, (_, i) => `{"i":${i}}\n`).join(''));
    expect(writer.count).toBe(1000);
  });

  it('writes a trickle of records a turn at a time, not at the end', async () => {
    const out = sink();
    const writer = new RecordWriter(out.stream, 'lines');
    writer.write('first');
    await nextTurn();
    writer.write('second');
    await nextTurn();
    expect(out.chunks).toEqual(['first\n', 'second\n']);
  });

  it('writes a result JSON has no text for (undefined) as null in every format', async () => {
    for (const [format, expected] of [
      ['lines', 'null\n'],
      ['jsonl', 'null\n'],
      ['json', '[\nnull\n]\n'],
    ] as const) {
      const out = sink();
      const writer = new RecordWriter(out.stream, format);
      writer.write(undefined);
      await writer.end();
      expect(out.chunks.join('')).toBe(expected);
    }
  });

  it('writes with --format lines what reads back the same: a CR inside a line, no line feed nor CR at its end', async () => {
    const out = sink();
    const writer = new RecordWriter(out.stream, 'lines');
    writer.write('a\rb');
    writer.write('\rc');
    writer.write('');
    expect(() => writer.write('a\nb')).toThrow('a string with a line break');
    expect(() => writer.write('a\r\nb')).toThrow('a string with a line break');
    expect(() => writer.write('ab\r')).toThrow('a string that ends in CR');
    expect(() => writer.write('\r')).toThrow('a string that ends in CR');
    await writer.end();
    expect(out.chunks.join('')).toBe('a\rb\n\rc\n\n');
    expect(writer.count).toBe(3);
  });

  it('writes at once when 64 KiB are waiting', () => {
    const out = sink();
    const writer = new RecordWriter(out.stream, 'lines');
    const line = 'x'.repeat(1023);
    for (let i = 0; i < 64; i++) writer.write(line);
    expect(out.chunks).toHaveLength(1);
    expect(out.chunks[0]).toHaveLength(64 * 1024);
  });

  it('returns a promise while the stream asks to wait, settled once it drains', async () => {
    const out = sink({ hold: true, highWaterMark: 16 });
    const writer = new RecordWriter(out.stream, 'lines');
    expect(writer.write('x'.repeat(40))).toBeUndefined(); // waiting for the end of the turn
    await nextTurn(); // written: 41 bytes, past the stream's 16, and not acknowledged
    const drained = writer.write('y');
    expect(drained).toBeInstanceOf(Promise);
    let settled = false;
    void drained!.then(() => {
      settled = true;
    });
    await nextTurn(); // 'y' is written too, behind the first
    expect(settled).toBe(false);
    out.release(); // the first is acknowledged; the stream hands over the second
    await nextTurn();
    expect(settled).toBe(false);
    out.release(); // nothing left: the stream drains
    await drained;
    expect(out.chunks).toEqual([`${'x'.repeat(40)}\n`, 'y\n']);
    expect(writer.write('z')).toBeUndefined();
  });

  it('flushes what waits, and closes a JSON array, at the end', async () => {
    const out = sink();
    const writer = new RecordWriter(out.stream, 'json');
    writer.write(1);
    writer.write({ a: 2 });
    await writer.end();
    expect(out.chunks.join('')).toBe('[\n1,\n{"a":2}\n]\n');
    const empty = sink();
    await new RecordWriter(empty.stream, 'json').end();
    expect(empty.chunks.join('')).toBe('[]\n');
  });

  it('lets go of a stream that failed: the error is told once, a wait for drain ends', async () => {
    const out = sink({ hold: true, highWaterMark: 16 });
    const writer = new RecordWriter(out.stream, 'jsonl');
    const errors: string[] = [];
    writer.onError = (error) => errors.push(error.code ?? '');
    writer.write({ big: 'x'.repeat(100) });
    await nextTurn();
    const drained = writer.write({ next: 1 });
    expect(drained).toBeInstanceOf(Promise);
    // The reader of a socket went away with data unread.
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    out.stream.destroy(reset);
    await drained; // ends instead of waiting for a drain that never comes
    expect(errors).toEqual(['ECONNRESET']);
    expect(writer.error).toBe(reset);
    expect(writer.write({ after: true })).toBeUndefined();
    await writer.end();
    expect(out.chunks.join('')).not.toContain('after');
  });
});
