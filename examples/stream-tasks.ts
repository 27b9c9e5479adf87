// The work behind examples/stream.ts: one line of a JSONL log in, one scored record out.
// A task module: `score` runs in a worker, or on the main thread for the baseline.

/** One line of the log. */
export interface LogRecord {
  readonly id: number;
  readonly user: string;
  readonly message: string;
}

/** What the example writes for each line. */
export interface Scored {
  readonly id: number;
  readonly user: string;
  /** How many of the message's words look like hexadecimal tokens. */
  readonly tokens: number;
  /** The edit distance from the message to the nearest known alert (the CPU-bound part). */
  readonly distance: number;
}

/** Messages that mean trouble: each line is compared with every one of them. */
const ALERTS = [
  'disk quota exceeded on volume 3f2a9b1c while writing checkpoint',
  'connection reset by peer after 3 retries consectetur adipiscing',
  'lorem ipsum dolor sit amet failed to acquire lock 0xdeadbeef',
  'elit sit amet out of memory in worker adipiscing dolor ipsum',
];

const HEX = /^(?:0x)?[0-9a-f]{6,}$/;

/** Levenshtein distance, one row of the table at a time. */
function distance(a: string, b: string, row: Uint16Array): number {
  for (let j = 0; j <= b.length; j++) row[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      const cost = ca === b.charCodeAt(j - 1) ? 0 : 1;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return row[b.length]!;
}

const row = new Uint16Array(256);

/** Parses one line and scores it. A line that is not a record fails on its own. */
export function score(line: string): Scored {
  const record = JSON.parse(line) as LogRecord;
  if (typeof record.message !== 'string' || record.message.length >= row.length) {
    throw new TypeError(`line ${record.id}: no message, or one longer than ${row.length - 1}`);
  }
  let tokens = 0;
  for (const word of record.message.split(' ')) if (HEX.test(word)) tokens++;
  let nearest = Number.POSITIVE_INFINITY;
  for (const alert of ALERTS) nearest = Math.min(nearest, distance(record.message, alert, row));
  return { id: record.id, user: record.user, tokens, distance: nearest };
}
