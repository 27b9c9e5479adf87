// `npm run example:stream [lines]`: a data-processing script. It streams a JSONL log
// (generated into a temporary folder) line by line through a CPU-bound task with
// `runner.map`, and writes each scored record out as it comes, in input order: memory
// stays bounded whatever the file's size, and a slow writer slows the reading. The same
// pipeline runs on the main thread alone for the baseline; both write the same file.
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createRunner, defineTask, type Progress } from '../src/index.js';
import { describeMachine } from '../src/machine.js';
import { rng } from '../workers/workloads.js';
import { type Scored, score } from './stream-tasks.js';

const LINES = Number(process.argv[2] ?? 10_000);
if (!Number.isInteger(LINES) || LINES < 1) {
  throw new RangeError(`Expected the number of lines (a positive integer), got ${process.argv[2]}`);
}

const scoreTask = defineTask<string, Scored>(
  new URL('./stream-tasks.js', import.meta.url),
  'score',
);

/** A log of `count` records, one JSON object per line. */
function makeLog(count: number): string {
  const random = rng(7);
  const users = ['ada', 'brian', 'grace', 'ken', 'linus', 'margaret'];
  const word = () =>
    random() < 0.2
      ? Math.floor(random() * 0xffffffff).toString(16)
      : 'lorem ipsum dolor sit amet consectetur adipiscing elit'.split(' ')[
          Math.floor(random() * 8)
        ];
  const lines: string[] = [];
  for (let id = 0; id < count; id++) {
    const user = users[Math.floor(random() * users.length)]!;
    const message = Array.from({ length: 12 }, word).join(' ');
    lines.push(JSON.stringify({ id, user, message }));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The lines of a file, read as they are needed. readline does not close its input when a
 * loop leaves early (a break, or a map that fails fast): the generator's `finally` does.
 */
async function* linesOf(path: string): AsyncIterable<string> {
  const input = createReadStream(path);
  try {
    yield* createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  } finally {
    input.destroy();
  }
}

/** Writes each record as a line, waiting whenever the file asks the writer to. */
async function writeAll(path: string, records: AsyncIterable<Scored>): Promise<number> {
  const out = createWriteStream(path);
  let count = 0;
  for await (const record of records) {
    if (!out.write(`${JSON.stringify(record)}\n`)) await once(out, 'drain');
    count++;
  }
  out.end();
  await once(out, 'finish');
  return count;
}

/** The baseline: the same pipeline, every line scored on the main thread. */
async function* scoredHere(path: string): AsyncIterable<Scored> {
  for await (const line of linesOf(path)) yield score(line);
}

const dir = await mkdtemp(join(tmpdir(), 'fanout-stream-'));
try {
  const log = join(dir, 'log.jsonl');
  await writeFile(log, makeLog(LINES));
  console.log(`fanout stream example on ${describeMachine()}`);
  console.log(`${LINES.toLocaleString()} log lines in, one scored record out per line\n`);

  await using runner = createRunner();
  let last: Progress | undefined;
  // Two rounds: the first pays for starting the threads and warming up; the second is
  // what a longer stream sees.
  for (let round = 1; round <= 2; round++) {
    let t0 = performance.now();
    await writeAll(join(dir, 'sequential.jsonl'), scoredHere(log));
    const sequentialMs = performance.now() - t0;

    t0 = performance.now();
    const written = await writeAll(
      join(dir, 'parallel.jsonl'),
      runner.map(scoreTask, linesOf(log), {
        // At most every 100 ms, and once at the end.
        onProgress: (progress) => {
          last = progress;
          if (process.stderr.isTTY) {
            process.stderr.write(
              `\r  ${progress.done.toLocaleString()} scored, ${progress.inFlight} in flight`,
            );
          }
        },
      }),
    );
    const parallelMs = performance.now() - t0;
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');

    const [sequential, parallel] = await Promise.all([
      readFile(join(dir, 'sequential.jsonl'), 'utf8'),
      readFile(join(dir, 'parallel.jsonl'), 'utf8'),
    ]);
    if (parallel !== sequential)
      throw new Error('the parallel output differs from the sequential one');
    console.log(
      `round ${round}: main thread alone ${sequentialMs.toFixed(0)} ms, fanout on ${runner.threads} threads ${parallelMs.toFixed(0)} ms, speedup ${(sequentialMs / parallelMs).toFixed(2)}x; ${written.toLocaleString()} records, identical`,
    );
  }
  if (last) {
    console.log(
      `\nlast progress report: ${last.done.toLocaleString()} done, ${last.failed} failed, ${Math.round(last.rate).toLocaleString()} items/s`,
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
