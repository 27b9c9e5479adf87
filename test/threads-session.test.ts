// The threads executor's sessions (Executor.open): a thread kept for a run of one call's
// chunks, each sent on the session's own port rather than as a task of the pool. They must
// end every way a task ends: answered, aborted (the thread stopped), the thread dead, an
// input that cannot be cloned, the pool destroyed.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ThreadsExecutor } from '../src/executors/threads.js';
import { ExecFailure } from '../src/executors/types.js';
import type { TaskRequest } from '../src/protocol.js';

const module = new URL('./fixtures/tasks.mjs', import.meta.url).href;
const request = (exportName: string, inputs: unknown[]): TaskRequest => ({
  module,
  export: exportName,
  inputs,
});

const run = promisify(execFile);

const executors: ThreadsExecutor[] = [];
const executor = () => {
  const made = new ThreadsExecutor({ threads: 2 });
  executors.push(made);
  return made;
};
afterEach(async () => {
  await Promise.all(executors.splice(0).map((e) => e.destroy()));
});

const failureOf = async (promise: Promise<unknown>): Promise<ExecFailure> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ExecFailure);
  return error as ExecFailure;
};

describe('threads executor sessions', () => {
  it('run attempts one after another on one thread; the last ends it, and another starts it again', async () => {
    const threads = executor();
    const signal = new AbortController().signal;
    const session = threads.open(signal);
    const first = await session.execute(request('double', [1, 2]), undefined, false);
    const second = await session.execute(request('double', [3]), undefined, false);
    const last = await session.execute(request('double', [4]), undefined, true);
    expect([first.values, second.values, last.values]).toEqual([[2, 4], [6], [8]]);
    // Attempts of one session run on its thread.
    expect(second.thread).toBe(first.thread);
    expect(last.thread).toBe(first.thread);
    // After the last, the session starts again (on whichever thread the pool gives).
    const again = await session.execute(request('double', [5]), undefined, false);
    expect(again.values).toEqual([10]);
    session.close();
    await expect(session.execute(request('double', [6]), undefined, false)).rejects.toMatchObject({
      kind: 'closed',
    });
    // Closed sessions gave their threads back: plain tasks still run.
    const plain = await threads.execute(request('double', [7]), { signal });
    expect(plain.values).toEqual([14]);
    await threads.close();
  });

  it('a session closed before any attempt, or after one that was not its last, gives its thread back', async () => {
    const threads = executor();
    const signal = new AbortController().signal;
    threads.open(signal).close();
    const session = threads.open(signal);
    await session.execute(request('double', [1]), undefined, false);
    session.close();
    // close() waits for every task of the pool: an open session would hold it forever.
    await threads.close();
  });

  it('aborting stops the running attempt with its thread, and the session is over', async () => {
    const threads = executor();
    const controller = new AbortController();
    const session = threads.open(controller.signal);
    await session.execute(request('double', [1]), undefined, false);
    const sab = new SharedArrayBuffer(8);
    const counter = new Int32Array(sab);
    const running = session.execute(request('spinForever', [{ sab }]), undefined, false);
    Atomics.wait(counter, 1, 0); // the attempt announced itself: it runs
    controller.abort();
    expect((await failureOf(running)).kind).toBe('aborted');
    expect((await failureOf(session.execute(request('double', [2]), undefined, true))).kind).toBe(
      'aborted',
    );
    // The pool replaced the stopped thread.
    const plain = await threads.execute(request('double', [3]), {
      signal: new AbortController().signal,
    });
    expect(plain.values).toEqual([6]);
  });

  it('aborting between attempts ends the session but keeps its thread', async () => {
    const threads = executor();
    const signal = new AbortController().signal;
    // Learn both threads: two attempts held at once run on different ones.
    const sab = new SharedArrayBuffer(16);
    const cells = new Int32Array(sab);
    const held = [0, 1].map((index) =>
      threads.execute(request('hold', [{ sab, index, value: index }]), { signal }),
    );
    for (const index of [0, 1]) Atomics.wait(cells, 2 * index, 0);
    for (const index of [0, 1]) {
      Atomics.store(cells, 2 * index + 1, 1);
      Atomics.notify(cells, 2 * index + 1);
    }
    const both = new Set((await Promise.all(held)).map((r) => r.thread));
    expect(both.size).toBe(2);

    const controller = new AbortController();
    const session = threads.open(controller.signal);
    const answered = await session.execute(request('double', [1]), undefined, false);
    controller.abort();
    expect((await failureOf(session.execute(request('double', [2]), undefined, false))).kind).toBe(
      'aborted',
    );
    // The session's thread was not stopped: later attempts run on the same two threads.
    const later = await Promise.all(
      [3, 4, 5, 6].map((x) => threads.execute(request('double', [x]), { signal })),
    );
    for (const r of [answered, ...later]) expect(both.has(r.thread)).toBe(true);
    await threads.close();
  });

  it('a thread that dies ends the session with the attempt running', async () => {
    const threads = executor();
    const session = threads.open(new AbortController().signal);
    await session.execute(request('double', [1]), undefined, false);
    const failure = await failureOf(session.execute(request('exitProcess', [3]), undefined, false));
    expect(failure.kind).toBe('worker-exited');
  });

  it('an input that cannot be cloned fails its attempt as data-clone and ends the session', async () => {
    const threads = executor();
    const session = threads.open(new AbortController().signal);
    await session.execute(request('double', [1]), undefined, false);
    const failure = await failureOf(
      session.execute(request('echo', [{ fn() {} }]), undefined, false),
    );
    expect(failure.kind).toBe('data-clone');
    expect((await failureOf(session.execute(request('double', [2]), undefined, true))).kind).toBe(
      'closed',
    );
    await threads.close();
  });

  it('an output that cannot be cloned ends the thread, as it does for a task', async () => {
    const threads = executor();
    const session = threads.open(new AbortController().signal);
    await session.execute(request('double', [1]), undefined, false);
    const failure = await failureOf(
      session.execute(request('unclonableOutput', [0, 1]), undefined, false),
    );
    const task = await failureOf(
      threads.execute(request('unclonableOutput', [0, 1]), {
        signal: new AbortController().signal,
      }),
    );
    expect(failure.kind).toBe(task.kind);
  });

  it('destroying the executor ends an open session with its attempt as closed', async () => {
    const threads = executor();
    const session = threads.open(new AbortController().signal);
    await session.execute(request('double', [1]), undefined, false);
    const sab = new SharedArrayBuffer(8);
    const counter = new Int32Array(sab);
    const running = session.execute(request('spinForever', [{ sab }]), undefined, false);
    Atomics.wait(counter, 1, 0);
    const failed = failureOf(running);
    await threads.destroy();
    expect((await failed).kind).toBe('closed');
  });
});

describe('threads executor: close(), and a pool left with no thread', () => {
  // An aborted task is over for Piscina at once, but for the executor only once its
  // thread has exited: close() waited on the first in a loop of microtasks that never let
  // the exit arrive, at 100% CPU (so the script runs in a process of its own, which a
  // regression would leave to the time limit of execFile).
  it('waits for a task stopped just before it, until its thread has exited', async () => {
    const script = fileURLToPath(new URL('./fixtures/close-after-stop.mjs', import.meta.url));
    const { stdout } = await run(process.execPath, [script], { timeout: 20_000 });
    expect(stdout).toBe('aborted\nclosed\n');
  });

  // With an idle timeout the pool keeps no minimum: a crash of its last thread leaves the
  // task waiting behind it with none, which once failed as "no thread could start".
  it('runs a task left queued when the last thread died, on a new thread', async () => {
    const threads = new ThreadsExecutor({ threads: 1, idleTimeout: 60_000 });
    executors.push(threads);
    const signal = new AbortController().signal;
    const crash = threads.execute(request('exitProcess', [3]), { signal });
    const queued = threads.execute(request('double', [21]), { signal });
    expect((await failureOf(crash)).kind).toBe('worker-exited');
    expect((await queued).values).toEqual([42]);
  });
});
