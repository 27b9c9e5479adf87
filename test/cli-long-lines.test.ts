// Reading input records. A line longer than any string can be (V8's longest: ~512M
// characters) cannot be read whole: `fanout run` skips it to its end and fails its item
// alone (ERR_MALFORMED_INPUT), the lines after it read as usual; a JSON array that long is a
// usage error. A small `longest` stands for the real limit here. A JSON input that does not
// parse names the line where the parser stopped.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type InputRecord, readRecords } from '../src/cli/io.js';

/** The records of `pieces` (read one after the other) in `format`, up to `longest` a line. */
async function readAll(
  pieces: string[],
  format: 'jsonl' | 'lines' | 'json',
  longest?: number,
): Promise<InputRecord[]> {
  const records: InputRecord[] = [];
  for await (const record of readRecords(Readable.from(pieces), format, longest)) {
    records.push(record);
  }
  return records;
}

/** The same, lines longer than 10 characters cut. */
async function read(pieces: string[], format: 'jsonl' | 'lines' | 'json'): Promise<InputRecord[]> {
  return readAll(pieces, format, 10);
}

const summary = (records: InputRecord[]) =>
  records.map((r) =>
    r.ok ? { line: r.line, value: r.value } : { line: r.line, error: r.error.message },
  );

describe('a line longer than the longest string', () => {
  it('fails its own item, whether it comes in one piece or many, and the rest are read', async () => {
    const long = 'x'.repeat(25);
    // (Its length counts what comes before its line feed: a CR included.)
    for (const [pieces, length] of [
      [[`1\n"${long}"\n2\n`], 27],
      [['1\n"', long.slice(0, 8), long.slice(8, 20), `${long.slice(20)}"`, '\n2\n'], 27],
      [['1\n', `"${long}"\r\n`, '2'], 28],
    ] as const) {
      expect(summary(await read([...pieces], 'jsonl'))).toEqual([
        { line: 1, value: 1 },
        { line: 2, error: `it has ${length} characters, more than a string can hold` },
        { line: 3, value: 2 },
      ]);
    }
  });

  it('counts a line at the limit as a line, and one past it, at the end, as too long', async () => {
    expect(summary(await read(['"12345678"\n', '"123456789"'], 'lines'))).toEqual([
      { line: 1, value: '"12345678"' },
      { line: 2, error: 'it has 11 characters, more than a string can hold' },
    ]);
  });

  it('is a usage error for a JSON array, which is read whole', async () => {
    await expect(read(['[1, 2, ', '3, 4, 5, 6]'], 'json')).rejects.toThrow(
      /more characters than a string can hold \(10\): use --format jsonl/,
    );
  });
});

describe('a JSON input that does not parse', () => {
  it('fails on the line where the parser stopped, with the text around it', async () => {
    const items = Array.from({ length: 500 }, (_, i) => `{"x": ${i}}`);
    items[400] = '{bad}';
    const records = await readAll([`[\n${items.join(',\n')}\n]`], 'json');
    expect(records).toHaveLength(1);
    const [record] = records;
    expect(record).toMatchObject({ ok: false, line: 402 });
    expect(record!.ok === false && record!.text).toContain('{bad}');
  });
});
