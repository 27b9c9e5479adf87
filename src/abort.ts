// Hearing of an abort. EventTarget's addEventListener is linear in the listeners already
// there, so a listener per call on one signal (a runner's, a server's shutdown signal shared
// by its requests) made each call cost as many as there were: 32,000 calls under way took
// 4 s to start. And more than 10 warned MaxListenersExceeded, though none leaked.
import { setMaxListeners } from 'node:events';

interface Hearers {
  readonly fns: Set<() => void>;
  readonly listener: () => void;
}

/**
 * Calls each of `fns`, as separate listeners would be: one that an earlier one took off (a
 * call that ended meanwhile) hears nothing, and one that throws does not keep the others
 * from hearing.
 */
function callEach(fns: Set<() => void>): void {
  for (const hear of [...fns]) {
    if (!fns.has(hear)) continue;
    try {
      hear();
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}

/** Who hears of each signal's abort, through the one listener it has while anyone does. */
const bySignal = new WeakMap<AbortSignal, Hearers>();

/**
 * Calls `fn` once when `signal` aborts (not if it already has: check `signal.aborted`).
 * Returns what stops it from being called; once no one waits on a signal, it has no
 * listener of ours left.
 */
export function onAbort(signal: AbortSignal | Stop, fn: () => void): () => void {
  if (signal instanceof Stop) return signal.hear(fn);
  let hearers = bySignal.get(signal);
  if (!hearers) {
    const fns = new Set<() => void>();
    const listener = () => {
      bySignal.delete(signal);
      callEach(fns);
    };
    hearers = { fns, listener };
    bySignal.set(signal, hearers);
    signal.addEventListener('abort', listener, { once: true });
  }
  const { fns, listener } = hearers;
  fns.add(fn);
  return () => {
    if (!fns.delete(fn) || fns.size > 0 || bySignal.get(signal)?.fns !== fns) return;
    bySignal.delete(signal);
    signal.removeEventListener('abort', listener);
  };
}

/**
 * A call's two stops: its own signal (the caller's) and the runner's destroy, either
 * left out. Returns what stops hearing both.
 */
export function onAborts(
  signal: AbortSignal | undefined,
  onSignal: () => void,
  destroyed: AbortSignal | undefined,
  onDestroyed: () => void,
): () => void {
  const unhearSignal = signal ? onAbort(signal, onSignal) : undefined;
  const unhearDestroyed = destroyed ? onAbort(destroyed, onDestroyed) : undefined;
  return () => {
    unhearSignal?.();
    unhearDestroyed?.();
  };
}

/**
 * An AbortController whose signal is made only when one is asked for: making a signal costs
 * ~2.5 µs, a fair part of a call of one job, and a call's stops are mostly read (`aborted`)
 * and heard (onAbort) by the scheduler and this package's executors, which need none. A
 * signal asked for after the abort is already aborted, with the same reason. Its hearers
 * are many by design (a listener for each attempt of a call): no MaxListenersExceeded
 * warning.
 */
export class Stop {
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;
  #hearers: Set<() => void> | undefined;

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      setMaxListeners(0, this.#controller.signal);
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** As AbortController's: no reason makes an AbortError DOMException. */
  abort(reason?: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason ?? new DOMException('This operation was aborted', 'AbortError');
    this.#controller?.abort(this.#reason);
    const hearers = this.#hearers;
    this.#hearers = undefined;
    if (hearers) callEach(hearers);
  }

  /**
   * Piscina takes a Stop for a task's signal as it takes an event emitter (`once('abort')`
   * and `off`, or `removeListener` in its JavaScript): an AbortSignal cost ~10 µs of the
   * main thread a task on a 2-core machine (made, and Piscina's listener added and taken
   * off), a tenth of a call of one job.
   */
  once(_event: 'abort', fn: () => void): void {
    this.hear(fn);
  }

  off(_event: 'abort', fn: () => void): void {
    this.#hearers?.delete(fn);
  }

  removeListener(event: 'abort', fn: () => void): void {
    this.off(event, fn);
  }

  /** See onAbort. */
  hear(fn: () => void): () => void {
    if (this.#aborted) return () => {};
    this.#hearers ??= new Set();
    const hearers = this.#hearers;
    hearers.add(fn);
    return () => {
      hearers.delete(fn);
    };
  }
}
