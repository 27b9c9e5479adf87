// Everything Piscina-specific lives here. One worker per core (min = max threads):
// CPU-bound work gains nothing from more threads than cores, and a fixed pool avoids
// paying worker start-up in the middle of a run.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ResourceLimits, Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import {
  fromWire,
  type TaskRequest,
  type TaskResponse,
  toWire,
  type WireRequest,
  type WireResponse,
} from '../protocol.js';
import { ExecFailure, type ExecuteOptions, type Executor } from './types.js';

export interface ThreadsExecutorOptions {
  readonly threads?: number;
  readonly idleTimeout?: number;
  readonly resourceLimits?: ResourceLimits;
}

// Compiled, the host's entry sits beside this file's output (dist/workers/entry.cjs). Run
// from source (tests, tsx), there is no entry.cjs beside src/, so use the build's. The
// entry is CommonJS so that Piscina's require() of it never goes through require(esm),
// which can abort the process (see workers/entry.cts).
function hostFilename(): string {
  const compiled = new URL('../../workers/entry.cjs', import.meta.url);
  if (existsSync(fileURLToPath(compiled))) return fileURLToPath(compiled);
  const built = new URL('../../dist/workers/entry.cjs', import.meta.url);
  if (existsSync(fileURLToPath(built))) return fileURLToPath(built);
  throw new Error(
    `fanout's worker host is not built (looked for ${fileURLToPath(built)}): run \`npm run build\``,
  );
}

function classify(error: unknown): ExecFailure {
  if (error instanceof ExecFailure) return error;
  const e = error as Error;
  if (e?.name === 'AbortError') return new ExecFailure('aborted', e.message, e);
  if (e?.name === 'DataCloneError') return new ExecFailure('data-clone', e.message, e);
  return new ExecFailure('worker-exited', e?.message ?? String(error), error);
}

export class ThreadsExecutor implements Executor {
  readonly kind = 'threads';
  readonly parallelism: number;
  readonly #pool: Piscina<WireRequest, WireResponse>;
  #closed = false;

  constructor(options: ThreadsExecutorOptions = {}) {
    this.parallelism = options.threads ?? availableParallelism();
    this.#pool = new Piscina({
      filename: hostFilename(),
      minThreads: this.parallelism,
      maxThreads: this.parallelism,
      ...(options.idleTimeout === undefined ? {} : { idleTimeout: options.idleTimeout }),
      ...(options.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }),
    });
    // Piscina re-emits worker errors on the pool; the affected task already fails with
    // them, so the pool-level event must not crash the process as an unhandled 'error'.
    this.#pool.on('error', () => {});
  }

  async execute(request: TaskRequest, { signal, transfer }: ExecuteOptions): Promise<TaskResponse> {
    if (this.#closed) throw new ExecFailure('closed', 'executor is closed');
    if (signal.aborted) throw new ExecFailure('aborted', 'aborted');
    // Piscina terminates the worker of an aborted running task but does not wait for
    // it to exit. Note the threads alive when the abort fires (this listener runs before
    // Piscina's), so the failure is reported only once the stopped thread is gone.
    let before: Set<Worker> | undefined;
    const snapshot = () => {
      before = new Set(this.#pool.threads);
    };
    signal.addEventListener('abort', snapshot, { once: true });
    try {
      const transferList = [...(transfer ?? []), ...(request.progress ? [request.progress] : [])];
      const response = await this.#pool.run(
        { ...request, inputs: toWire(request.inputs, request.transfer) },
        { signal, ...(transferList.length > 0 ? { transferList } : {}) },
      );
      return { ...response, values: fromWire(response.values) };
    } catch (error) {
      const failure = this.#closed
        ? new ExecFailure('closed', 'executor was destroyed', error)
        : classify(error);
      if (failure.kind === 'aborted' && before) await this.#exited(before);
      throw failure;
    } finally {
      signal.removeEventListener('abort', snapshot);
    }
  }

  async #exited(before: Set<Worker>): Promise<void> {
    const alive = new Set(this.#pool.threads);
    const stopped = [...before].filter((w) => !alive.has(w) && w.threadId !== -1);
    await Promise.all(
      stopped.map((w) => new Promise<void>((resolve) => w.once('exit', () => resolve()))),
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#pool.close();
  }

  async destroy(): Promise<void> {
    this.#closed = true;
    await this.#pool.destroy();
  }
}
