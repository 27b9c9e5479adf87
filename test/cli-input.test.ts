// Reading the input of `fanout run` as bytes. A line whose bytes are not UTF-8 is a failure
// of its own item (ERR_MALFORMED_INPUT), never changed quietly; U+FFFD written as UTF-8
// is text like any other. Each record tells the bytes it took, so that a progress bar
// reaches the file's size whatever its characters, line ends or byte order mark. A JSON
// array names the line where each element starts, and where a text that does not parse
// stops being JSON (Node 20's messages seldom say).
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type InputRecord, readRecords } from '../src/cli/io.js';
import { elementLines, jsonErrorAt } from '../src/cli/json-text.js';

async function readAll(pieces: Buffer[], format: 'jsonl' | 'lines' | 'json') {
  const records: InputRecord[] = [];
  for await (const record of readRecords(Readable.from(pieces), format)) records.push(record);
  return records;
}

const summary = (records: InputRecord[]) =>
  records.map((r) =>
    r.ok ? { line: r.line, value: r.value } : { line: r.line, error: r.error.message },
  );

/** `bytes` read whole, in two pieces cut at every place, and a byte at a time. */
function cuts(bytes: Buffer): Buffer[][] {
  const ways = [[bytes], [...bytes].map((byte) => Buffer.from([byte]))];
  for (let at = 1; at < bytes.length; at++) ways.push([bytes.subarray(0, at), bytes.subarray(at)]);
  return ways;
}

const utf8 = (text: string) => Buffer.from(text, 'utf8');
const latin1 = (text: string) => Buffer.from(text, 'latin1');
const NOT_UTF8 = 'it is not valid UTF-8';

describe('input that is not UTF-8', () => {
  // A Latin-1 é; U+FFFD as UTF-8 (EF BF BD), which is text; é😀 (2 and 4 bytes); the
  // first byte of a 2-byte character, then the line's end.
  const input = Buffer.concat([
    utf8('1\n'),
    latin1('"caf\xe9"\n'),
    utf8('"\uFFFD"\r\n'),
    utf8('"é😀"\n'),
    latin1('"\xc3"\n'),
    utf8('2'),
  ]);

  it('fails the lines it is on, however the input is cut; the rest are read as written', async () => {
    for (const pieces of cuts(input)) {
      expect(summary(await readAll(pieces, 'jsonl'))).toEqual([
        { line: 1, value: 1 },
        { line: 2, error: NOT_UTF8 },
        { line: 3, value: '\uFFFD' },
        { line: 4, value: 'é😀' },
        { line: 5, error: NOT_UTF8 },
        { line: 6, value: 2 },
      ]);
      expect(summary(await readAll(pieces, 'lines'))).toEqual([
        { line: 1, value: '1' },
        { line: 2, error: NOT_UTF8 },
        { line: 3, value: '"\uFFFD"' },
        { line: 4, value: '"é😀"' },
        { line: 5, error: NOT_UTF8 },
        { line: 6, value: '2' },
      ]);
    }
  });

  it('gives the failed line as text, U+FFFD where its bytes are not UTF-8', async () => {
    for (const pieces of [[input], cuts(input)[1]!]) {
      const [, failed] = await readAll(pieces, 'lines');
      expect(failed).toMatchObject({ ok: false, line: 2, text: '"caf\uFFFD"' });
    }
  });

  it('fails a JSON array on the line where it stops being UTF-8, with the text around it', async () => {
    const array = Buffer.concat([utf8('[1,\n"é",\n'), latin1('"caf\xe9",\n'), utf8('3]')]);
    // An array cut in the middle of a character (the first two bytes of 日).
    const cut = Buffer.concat([utf8('[1,\n"'), utf8('日').subarray(0, 2)]);
    for (const [bytes, line] of [
      [array, 3],
      [cut, 2],
    ] as const) {
      for (const pieces of cuts(bytes)) {
        const records = await readAll(pieces, 'json');
        expect(summary(records)).toEqual([{ line, error: NOT_UTF8 }]);
      }
    }
    const [record] = await readAll([array], 'json');
    expect(record).toMatchObject({ ok: false, text: expect.stringContaining('"caf\uFFFD"') });
    const text = await readAll(cuts(utf8('["\uFFFD", "é😀"]'))[1]!, 'json');
    expect(text.map((r) => r.ok && r.value)).toEqual(['\uFFFD', 'é😀']);
  });
});

describe('the bytes each record took', () => {
  it('add up to the whole input: multi-byte characters, CRLF, a byte order mark, blank lines', async () => {
    const text = '\uFEFF{"名前":"日本語"}\r\n\r\n{"a":"é"}\n\n\n"😀"\r\n{"b":1}';
    const bytes = utf8(text);
    for (const format of ['jsonl', 'lines'] as const) {
      for (const pieces of cuts(bytes)) {
        const records = await readAll(pieces, format);
        expect(records.every((r) => r.ok)).toBe(true);
        expect(records.reduce((sum, r) => sum + (r.bytes ?? 0), 0)).toBe(bytes.length);
      }
    }
    // Each line's own, its line end included; the blank lines before a JSONL record in it.
    const records = await readAll([bytes], 'jsonl');
    expect(records.map((r) => r.bytes)).toEqual([
      utf8('\uFEFF{"名前":"日本語"}\r\n').length,
      utf8('\r\n{"a":"é"}\n').length,
      utf8('\n\n"😀"\r\n').length,
      utf8('{"b":1}').length,
    ]);
  });

  it('count a line that fails, so that the rest still adds up', async () => {
    const bytes = Buffer.concat([utf8('"日"\n'), latin1('\xe9\n'), utf8('not json\n"本"\n')]);
    for (const pieces of cuts(bytes)) {
      const records = await readAll(pieces, 'jsonl');
      expect(records.map((r) => r.ok)).toEqual([true, false, false, true]);
      expect(records.reduce((sum, r) => sum + (r.bytes ?? 0), 0)).toBe(bytes.length);
    }
  });
});

describe('a JSON array', () => {
  it('names the line where each element starts', async () => {
    const text = [
      '[2,',
      '',
      '  3, {"a": "],[\\"{", "b": [1,',
      '2]},',
      '"x\\\\",',
      '[',
      '  [], {}',
      ']',
      '  , null',
      ']',
    ].join('\n');
    expect(JSON.parse(text)).toHaveLength(6);
    expect([...elementLines(text, 6)]).toEqual([1, 3, 3, 5, 6, 9]);
    const records = await readAll([utf8(text)], 'json');
    expect(records.map((r) => r.line)).toEqual([1, 3, 3, 5, 6, 9]);
    expect(elementLines('[]', 0)).toHaveLength(0);
    expect(elementLines(' [ \n ] ', 0)).toHaveLength(0);
  });

  it('names the line of every element of a laid-out array, whatever its values', () => {
    const values: unknown[] = [
      1,
      -2.5e3,
      'a',
      'with "quotes", \\ and [brackets]',
      { a: [1, { b: '}' }], c: null },
      [],
      [[['deep']]],
      true,
      {},
      '',
    ];
    for (let layout = 0; layout < 64; layout++) {
      let text = '[';
      let line = 1;
      const expected: number[] = [];
      values.forEach((value, i) => {
        const before = (layout >> (i % 6)) & 1 ? '\n  ' : ' ';
        if (before.includes('\n')) line++;
        text += `${i > 0 ? ',' : ''}${before}`;
        expected.push(line);
        const json = JSON.stringify(value, null, layout & 1 ? 2 : undefined) ?? 'null';
        text += json;
        line += json.split('\n').length - 1;
      });
      text += '\n]';
      expect(JSON.parse(text)).toEqual(values);
      expect([...elementLines(text, values.length)]).toEqual(expected);
    }
  });

  it('that does not parse names where it stops being JSON, where Node 20 does not', async () => {
    // An unexpected token (the message has no position), on line 502.
    const items = Array.from({ length: 500 }, (_, i) => `{"a":${i}},`);
    const wrong = `[\n${items.join('\n')}\n{"a": tru}\n]`;
    expect(() => JSON.parse(wrong)).toThrow(/^Unexpected token/);
    const [record] = await readAll([utf8(wrong)], 'json');
    expect(record).toMatchObject({ ok: false, line: 502 });
    expect(record!.ok === false && record!.text).toContain('{"a": tru}');
    // An array that ends too early: the line its last value is on.
    const numbers = Array.from({ length: 300 }, (_, i) => `${i + 1},`);
    const truncated = `[\n${numbers.join('\n')}\n\n`;
    expect(() => JSON.parse(truncated)).toThrow('Unexpected end of JSON input');
    const [end] = await readAll([utf8(truncated)], 'json');
    expect(end).toMatchObject({ ok: false, line: 301 });
    expect(end!.ok === false && end!.text).toContain('300,');
  });

  it('finds the error where JSON.parse does, in texts cut and changed at every place', () => {
    const base = JSON.stringify(
      [{ a: 1, b: [true, false, null], 'c"d': 'x\\y\u0001\n', e: -1.5e10, f: {}, g: [] }, 0, 's'],
      null,
      1,
    );
    const changes = ['', ' ', '\n', ',', ':', '[', ']', '{', '}', '"', '\\', 'x', '0', '-', '.'];
    let placed = 0;
    for (let at = 0; at <= base.length; at++) {
      for (const change of [...changes, 'e', 't', 'u', '\u0001', 'E', '+']) {
        for (const removed of [0, 1]) {
          const text = base.slice(0, at) + change + base.slice(at + removed);
          let message: string | undefined;
          try {
            JSON.parse(text);
          } catch (error) {
            message = (error as Error).message;
          }
          const position = jsonErrorAt(text);
          expect(position === -1, text).toBe(message === undefined);
          // Where V8 says where it stopped, it is the same place.
          const said = message && /at position (\d+)/.exec(message);
          if (said) {
            placed++;
            expect(position, text).toBe(Number(said[1]));
          }
        }
      }
    }
    expect(placed).toBeGreaterThan(1000);
  });
});
