// When a chunk comes back, its thread gets the next chunk before the outcomes are handed
// over (handing over thousands of outcomes takes the main thread about a millisecond), but
// only when nothing in them can stop the call and no other call waits for the thread. An
// executor with one slot that records every chunk makes the order certain.
import { describe, expect, it } from 'vitest';
import type { Executor, MapOptions, TaskRequest, TaskResponse } from '../src/index.js';
import { serializeError } from '../src/protocol.js';
import { deferred } from './helpers/latches.js';
import { trackRunners } from './helpers/runners.js';
import { tasks } from './helpers/tasks.js';

const createRunner = trackRunners();

interface Sent {
  readonly inputs: readonly unknown[];
  /** How many outputs the consumer had received when the chunk was sent. */
  readonly seen: number;
}

/**
 * One slot; each chunk is answered when the test calls `answer()`: doubled inputs, and a
 * failure for each negative one.
 */
function recordingExecutor(seen: () => number) {
  const sent: Sent[] = [];
  const waiting: Array<() => void> = [];
  let arrived = deferred();
  const respond = (request: TaskRequest): TaskResponse => {
    const inputs = request.inputs as number[];
    const failures = inputs.flatMap((input, index) =>
      input < 0
        ? [{ index, kind: 'task' as const, error: serializeError(new Error(`bad input ${input}`)) }]
        : [],
    );
    return {
      values: inputs.map((input) => (input < 0 ? undefined : input * 2)),
      failures: failures.length > 0 ? failures : undefined,
      times: new Float64Array(2 * inputs.length),
      thread: 1,
    };
  };
  const executor: Executor = {
    kind: 'recording',
    parallelism: 1,
    execute: (request) =>
      new Promise<TaskResponse>((resolve) => {
        sent.push({ inputs: [...request.inputs], seen: seen() });
        waiting.push(() => resolve(respond(request)));
        arrived.resolve();
      }),
    close: async () => {},
    destroy: async () => {},
  };
  return {
    executor,
    sent,
    /** Waits until a chunk is waiting for its answer. */
    async next(): Promise<void> {
      while (waiting.length === 0) {
        await arrived.promise;
        arrived = deferred();
      }
    },
    answer(): void {
      waiting.shift()!();
    },
  };
}

/**
 * A stream yields once (setImmediate) after starting its first chunks, then reads ahead.
 * Waiting for one here, which comes after it, makes the next inputs ready before an answer.
 */
const readAhead = () => new Promise((resolve) => setImmediate(resolve));

/**
 * A map of chunks of two over `inputs` on a recording executor, each chunk answered once
 * the stream has read ahead: what it yielded, and the chunks sent.
 */
async function heldMap(inputs: number[], options: MapOptions = {}) {
  const outputs: unknown[] = [];
  const held = recordingExecutor(() => outputs.length);
  const runner = createRunner({ executor: held.executor });
  const stream = runner.map(tasks.double, inputs, { chunkSize: 2, ...options });
  const done = (async () => {
    for await (const output of stream as AsyncIterable<unknown>) outputs.push(output);
  })();
  for (let chunk = 0; chunk < inputs.length / 2; chunk++) {
    await held.next();
    await readAhead();
    held.answer();
  }
  await done;
  return { outputs, sent: held.sent };
}

/** Chunk k + 1 left while the consumer had at most the outputs of chunks before k. */
function expectHandedOn(sent: readonly Sent[]): void {
  sent.forEach((s, k) => {
    expect(s.seen).toBeLessThanOrEqual(2 * Math.max(0, k - 1));
  });
}

/** Settles if another chunk is sent (answering it, so the call can end): the test then fails. */
async function sentAgain(held: ReturnType<typeof recordingExecutor>): Promise<string> {
  await held.next();
  held.answer();
  return 'another chunk was sent';
}

describe('the next chunk goes out before the last one is handed over', () => {
  it('sends each chunk before the outputs of the one before reach the consumer', async () => {
    const { outputs, sent } = await heldMap([1, 2, 3, 4, 5, 6]);
    expect(outputs).toEqual([2, 4, 6, 8, 10, 12]);
    expect(sent.map((s) => s.inputs)).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    expectHandedOn(sent);
  });

  it('waits for a chunk with a failure to be handed over (fail-fast stops there)', async () => {
    const held = recordingExecutor(() => 0);
    const runner = createRunner({ executor: held.executor });
    const results = runner.map(tasks.double, [1, -1, 3, 4], { chunkSize: 2 }).toArray();
    await held.next();
    await readAhead();
    held.answer();
    const ended = await Promise.race([results.catch((e: unknown) => e), sentAgain(held)]);
    expect(ended).toMatchObject({ code: 'ERR_TASK_FAILED', job: 1 });
    expect(held.sent).toHaveLength(1);
  });

  it("does not send more once a chunk fulfilled any()'s job", async () => {
    const held = recordingExecutor(() => 0);
    const runner = createRunner({ executor: held.executor });
    const first = runner.any(tasks.double, [1, 2, 3, 4], { chunkSize: 2 });
    await held.next();
    held.answer();
    await expect(Promise.race([first, sentAgain(held)])).resolves.toBe(2);
    expect(held.sent).toHaveLength(1);
  });

  it('gives the thread to another call that was waiting for it first', async () => {
    const held = recordingExecutor(() => 0);
    const runner = createRunner({ executor: held.executor });
    const mapped = runner.map(tasks.double, [1, 2, 3, 4], { chunkSize: 2 }).toArray();
    await held.next();
    // A second call arrives while the only thread runs the map's first chunk.
    const other = runner.all(tasks.double, [100]);
    await readAhead();
    held.answer();
    for (let chunk = 0; chunk < 2; chunk++) {
      await held.next();
      held.answer();
    }
    await expect(mapped).resolves.toEqual([2, 4, 6, 8]);
    await expect(other).resolves.toEqual([200]);
    expect(held.sent.map((s) => s.inputs)).toEqual([[1, 2], [100], [3, 4]]);
  });
});

describe('the next chunk goes out before the last one is handed over, also', () => {
  it('under settle, after a chunk with failures (none can stop the call)', async () => {
    const { outputs, sent } = await heldMap([1, -1, 3, 4, -5, 6], { policy: 'settle' });
    expect(outputs).toHaveLength(6);
    expectHandedOn(sent);
  });

  it('under a concurrency cap as big as a chunk (the chunk back leaves room)', async () => {
    const { outputs, sent } = await heldMap([1, 2, 3, 4, 5, 6], { concurrency: 2 });
    expect(outputs).toEqual([2, 4, 6, 8, 10, 12]);
    expectHandedOn(sent);
  });
});

describe('a chunk sent while the window is full and nothing else is ready', () => {
  it('goes as the last of its session: no port is opened for chunks that would not come', async () => {
    // Sessions that answer at once and record whether each chunk was sent as the last.
    const lasts: boolean[] = [];
    const answer = (request: TaskRequest): Promise<TaskResponse> =>
      Promise.resolve({
        values: (request.inputs as number[]).map((x) => 2 * x),
        failures: undefined,
        times: new Float64Array(2 * request.inputs.length),
        thread: 1,
      });
    const executor: Executor = {
      kind: 'sessions',
      parallelism: 1,
      execute: answer,
      open: () => ({
        execute: (request, _transfer, last) => {
          lasts.push(last);
          return answer(request);
        },
        close: () => {},
      }),
      close: async () => {},
      destroy: async () => {},
    };
    const runner = createRunner({ executor });
    const inputs = Array.from({ length: 40 }, (_, i) => i);
    const outputs: number[] = [];
    // A window of 2 on one thread: chunks of one item, and the window is full each time.
    for await (const output of runner.map(tasks.double, inputs, { window: 2 })) {
      outputs.push(output);
    }
    expect(outputs).toEqual(inputs.map((x) => 2 * x));
    expect(lasts).toHaveLength(40);
    expect(lasts.filter((last) => !last).length).toBeLessThanOrEqual(2);
  });
});
