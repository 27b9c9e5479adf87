// Hearing of an abort. EventTarget's addEventListener is linear in the listeners already
// there, so a listener per call on one signal (a runner's, a server's shutdown signal shared
// by its requests) made each call cost as many as there were: 32,000 calls under way took
// 4 s to start. And more than 10 warned MaxListenersExceeded, though none leaked.

interface Hearers {
  readonly fns: Set<() => void>;
  readonly listener: () => void;
}

/** Who hears of each signal's abort, through the one listener it has while anyone does. */
const bySignal = new WeakMap<AbortSignal, Hearers>();

/**
 * Calls `fn` once when `signal` aborts (not if it already has: check `signal.aborted`).
 * Returns what stops it from being called; once no one waits on a signal, it has no
 * listener of ours left.
 */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  let hearers = bySignal.get(signal);
  if (!hearers) {
    const fns = new Set<() => void>();
    const listener = () => {
      bySignal.delete(signal);
      for (const hear of [...fns]) {
        // (One that an earlier one took off, a call that ended meanwhile, hears nothing;
        // one that throws does not keep the others from hearing, as separate listeners.)
        if (!fns.has(hear)) continue;
        try {
          hear();
        } catch (error) {
          queueMicrotask(() => {
            throw error;
          });
        }
      }
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
