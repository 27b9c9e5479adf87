// The caller's callbacks that run while a call is under way (onProgress, onTaskProgress,
// retries.retryOn) and at its end (onStats, onTrace). One that throws must neither break the
// engine (an outcome lost half way through a chunk) nor be swallowed: the first error is
// kept, later calls of the callbacks under way are skipped (those of the end still run),
// and the call fails with that error when it ends.

import { now } from './protocol.js';

/**
 * How long the callbacks of every call have run so far (ms): what the scheduler times as
 * its own cost on the main thread leaves it out.
 */
let spentMs = 0;

export function callbackMs(): number {
  return spentMs;
}

/**
 * Calls the caller's `fn` (a callback, a graph node's input function, a main-thread job's
 * synchronous part), counting its time with the callbacks'.
 */
export function timed<R>(fn: () => R): R {
  const start = now();
  try {
    return fn();
  } finally {
    spentMs += now() - start;
  }
}

export class CallbackGuard {
  #error: { readonly error: unknown } | undefined;

  /** `fn`, made safe to call from inside the engine: `skipped` when it threw or is skipped. */
  wrap<A extends unknown[], R = void>(fn: (...args: A) => R, skipped?: R): (...args: A) => R {
    return (...args) => {
      if (this.#error) return skipped as R;
      try {
        return timed(() => fn(...args));
      } catch (error) {
        this.#error = { error };
        return skipped as R;
      }
    };
  }

  /**
   * Calls `fn` (a callback that runs once, at the call's end: onStats, onTrace) whether or
   * not another threw before, keeping the first error.
   */
  once(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.#error ??= { error };
    }
  }

  /** Throws what a wrapped callback threw, if one did. */
  check(): void {
    if (this.#error) throw this.#error.error;
  }
}
