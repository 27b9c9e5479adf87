// Hands out the executor's slots (one per thread) to attempts, first come first served,
// across every call of a runner. Piscina would queue too, but it also dispatches from
// the main thread only when a worker answers, so waiting here costs nothing and lets the
// scheduler know when an attempt really starts: per-attempt timeouts do not count time
// spent waiting, and `maxQueue` is enforced the same way for every executor.
//
// A call may queue hundreds of thousands of attempts under one signal. EventTarget's
// addEventListener is linear in the listeners already there, so the dispatcher listens
// once per signal, and the queue is a deque with lazy removal: every operation is O(1).

interface Waiter {
  readonly signal: AbortSignal;
  readonly resolve: (release: () => void) => void;
  readonly reject: (reason: unknown) => void;
  /** Set once the waiter was granted, or rejected while still in the queue. */
  done: boolean;
}

export class QueueFull extends Error {}

export class Dispatcher {
  readonly #slots: number;
  readonly #maxQueue: number;
  #queue: Waiter[] = [];
  #head = 0;
  #waiting = 0;
  #busy = 0;
  /** Waiters per signal, each signal listened to once. */
  readonly #bySignal = new Map<AbortSignal, { waiters: Set<Waiter>; onAbort: () => void }>();

  constructor(slots: number, maxQueue: number) {
    this.#slots = slots;
    this.#maxQueue = maxQueue;
  }

  /** The most attempts that may wait. */
  get maxQueue(): number {
    return this.#maxQueue;
  }

  /** Attempts waiting for a slot. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Slots in use. */
  get busy(): number {
    return this.#busy;
  }

  /**
   * Resolves with a release function once a slot is free. Rejects with QueueFull when
   * `maxQueue` attempts already wait, or with the signal's reason if it aborts first.
   */
  acquire(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.#busy < this.#slots) {
      this.#busy++;
      return Promise.resolve(this.#releaser());
    }
    if (this.#waiting >= this.#maxQueue) return Promise.reject(new QueueFull());
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { signal, resolve, reject, done: false };
      this.#queue.push(waiter);
      this.#waiting++;
      let group = this.#bySignal.get(signal);
      if (!group) {
        const onAbort = () => this.#abortAll(signal);
        group = { waiters: new Set(), onAbort };
        this.#bySignal.set(signal, group);
        signal.addEventListener('abort', onAbort, { once: true });
      }
      group.waiters.add(waiter);
    });
  }

  /** Fails every waiting attempt with `reason` (the runner is being destroyed). */
  rejectAll(reason: unknown): void {
    for (let w = this.#next(); w; w = this.#next()) w.reject(reason);
  }

  #abortAll(signal: AbortSignal): void {
    const group = this.#bySignal.get(signal);
    if (!group) return;
    this.#bySignal.delete(signal);
    for (const waiter of group.waiters) {
      waiter.done = true;
      this.#waiting--;
      waiter.reject(signal.reason);
    }
  }

  /** Takes the next live waiter off the queue, skipping those already gone. */
  #next(): Waiter | undefined {
    while (this.#head < this.#queue.length) {
      const waiter = this.#queue[this.#head++]!;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      if (waiter.done) continue;
      waiter.done = true;
      this.#waiting--;
      const group = this.#bySignal.get(waiter.signal);
      if (group) {
        group.waiters.delete(waiter);
        if (group.waiters.size === 0) {
          this.#bySignal.delete(waiter.signal);
          waiter.signal.removeEventListener('abort', group.onAbort);
        }
      }
      return waiter;
    }
    return undefined;
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#next();
      // The slot passes straight to the next waiter, so busy stays the same.
      if (next) next.resolve(this.#releaser());
      else this.#busy--;
    };
  }
}
