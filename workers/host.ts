// The Piscina worker's host: one chunk in, one response out, as a pool task or in a
// session. Task failures are returned as values so nothing about them is lost crossing
// back (see protocol.ts).
//
// Outputs are copied back unless the call asked to transfer: moving a buffer detaches it
// here, and in V8 the first detach in a thread makes the optimized typed-array code of
// that thread slower from then on (the "array buffer detaching" protector): measured on
// 2 cores, a typed-array sieve (countPrimes) ran ~15% slower in every later task.
//
// Otherwise, inputs and outputs of the shape that packs (plain objects with the same keys and
// primitive values) cross by column, which V8 clones several times faster (see pack()).
import type { MessagePort } from 'node:worker_threads';
import {
  buffersIn,
  type SessionMessage,
  TASK_STDOUT_ENV,
  toWire,
  type WireRequest,
  type WireResponse,
} from '../src/protocol.js';
import { runRequest } from './task-host.js';

if (process.env[TASK_STDOUT_ENV] === 'stderr') {
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
}
// (Read once; the processes that tasks start do not inherit it from this thread's copy.)
delete process.env[TASK_STDOUT_ENV];

/** A chunk's answer, and the buffers to move with it (none unless the call transfers). */
async function answer(
  request: WireRequest,
): Promise<{ readonly response: WireResponse; readonly buffers: ArrayBuffer[] }> {
  const { started } = request;
  const response = await runRequest(
    request,
    started &&
      (() => {
        started.postMessage(null);
        started.close();
      }),
  );
  // One turn of this thread's event loop before answering: a task that returned, leaving
  // behind an unhandled rejection or an immediate that throws, crashes the thread now,
  // failing its own chunk, not the next job sent here (which would never run). A timer
  // set to fire later still escapes.
  await new Promise<void>((resolve) => setImmediate(resolve));
  // What the chunk's tasks wrote (console.log) reaches the main thread's streams before the
  // answer does, as Piscina makes sure for a task's result: else a caller that exits once
  // it has its results loses it, and one that prints them prints them first.
  if (process.stdout.writableLength > 0 || process.stderr.writableLength > 0) {
    await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  }
  if (!request.transfer) {
    return { response: { ...response, values: toWire(response.values, false) }, buffers: [] };
  }
  const buffers = new Set<ArrayBuffer>();
  for (const value of response.values) buffersIn(value, buffers);
  for (const failure of response.failures ?? []) buffersIn(failure.input, buffers);
  return { response, buffers: [...buffers] };
}

/**
 * How long an answer waits at most for what its tasks wrote to reach the main thread. The
 * main thread takes it when its event loop turns, so only a main thread that stopped
 * taking it (its standard output broke, as under `| head`, and the error was handled)
 * makes the wait this long: after one such wait, this thread waits no more until what it
 * wrote is taken again.
 */
const FLUSH_WAIT_MS = 250;
/** The streams of this thread whose output the main thread stopped taking. */
const untaken = new Set<NodeJS.WriteStream>();

/**
 * Once what was written to a stream of this thread has reached the main thread (a write
 * calls back when the main thread has taken it); at once when nothing waits.
 */
function flushed(stream: NodeJS.WriteStream): Promise<void> | undefined {
  if (untaken.has(stream) || stream.writableLength === 0) return undefined;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      untaken.add(stream);
      resolve();
    }, FLUSH_WAIT_MS);
    stream.write('', () => {
      clearTimeout(timer);
      untaken.delete(stream);
      resolve();
    });
  });
}

/** One chunk as a pool task: its answer is the task's result. */
export default async function host(request: WireRequest): Promise<WireResponse> {
  const { response, buffers } = await answer(request);
  if (buffers.length === 0) return response;
  // Loaded only here: importing Piscina in a worker costs ~25 ms, on every worker's first
  // chunk, and only a call that transfers needs it.
  const { move, transferableSymbol, valueSymbol } = await import('piscina');
  return move({
    [transferableSymbol]: buffers,
    [valueSymbol]: response,
  } as never) as unknown as WireResponse;
}

/**
 * A session (see Executor.open): `first` and the chunks that come on `port` after it, one at
 * a time, each answered on the port, except the last: the pool task's result answers it
 * (or a null ends the session and the task without one). An answer that cannot be cloned
 * ends the thread, as it does for a pool task's answer: the scheduler then runs the chunk's
 * items one by one, and the check of a lone item names the culprit.
 */
export function serve(port: MessagePort, first: WireRequest): Promise<WireResponse | undefined> {
  const reply = (request: WireRequest) =>
    void answer(request).then(({ response, buffers }) => {
      try {
        port.postMessage(response, buffers);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    });
  return new Promise((resolve) => {
    port.on('message', (message: SessionMessage) => {
      if (message !== null && !message.last) return reply(message.request);
      port.close();
      resolve(message === null ? undefined : host(message.request));
    });
    reply(first);
  });
}
