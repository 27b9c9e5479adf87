// Hands out the executor's slots (one per thread) across every call of a runner, highest
// priority first and first come first served among equals (a graph runs its critical path
// first), and counts the jobs waiting for one (`maxQueue`). Piscina would queue too, but
// it also dispatches from the main thread only when a worker answers, so waiting here
// costs nothing and lets the scheduler know when an attempt really starts: timeouts do not
// count time spent waiting, and every executor gets the same queue semantics.
//
// The dispatcher hears each stop once (a Stop: no AbortSignal is made for a wait, see
// abort.ts), and the queue is a binary heap with lazy removal.
import type { Stop } from './abort.js';
import { Heap } from './heap.js';

interface Waiter {
  readonly stop: Stop;
  readonly priority: number;
  /** Arrival order: breaks ties between equal priorities, so they stay FIFO. */
  readonly seq: number;
  readonly resolve: (release: () => void) => void;
  readonly reject: (reason: unknown) => void;
  /** Set once the waiter was granted, or rejected while still in the queue. */
  done: boolean;
}

export class Dispatcher {
  readonly #slots: number;
  readonly #maxQueue: number;
  /** Gone (aborted) waiters stay in the heap until popped, or until they are most of it. */
  readonly #heap = new Heap<Waiter>(before);
  #gone = 0;
  #seq = 0;
  #busy = 0;
  #queuedJobs = 0;
  /**
   * Slots handed out whose taker has not yet taken its jobs off the queue (it does so the
   * moment it resumes): each counts one queued job as started, not as waiting.
   */
  #granted = 0;
  #roomWaiters = new Set<() => void>();
  /** Waiters per stop, each stop heard once. */
  readonly #byStop = new Map<Stop, { waiters: Set<Waiter>; unhear: () => void }>();

  constructor(slots: number, maxQueue: number) {
    this.#slots = slots;
    this.#maxQueue = maxQueue;
  }

  /** The most jobs that may wait for a thread. */
  get maxQueue(): number {
    return this.#maxQueue;
  }

  /** Whether some slot is free (no call holds it). */
  get free(): boolean {
    return this.#busy < this.#slots;
  }

  /** Whether some call waits for a slot. */
  get contended(): boolean {
    return this.#heap.size > this.#gone;
  }

  /** Jobs waiting for a thread, across calls. */
  get queuedJobs(): number {
    return this.#queuedJobs;
  }

  /**
   * How many more jobs may be queued now: as many as there are free threads (they start at
   * once and do not count as waiting), then up to `maxQueue` waiting.
   */
  room(): number {
    return this.#maxQueue + this.#slots - this.#busy - this.#queuedJobs + this.#granted;
  }

  /** Admits up to `count` jobs; returns how many fit (the rest fail with ERR_QUEUE_FULL). */
  enqueue(count: number): number {
    const admitted = Math.max(0, Math.min(count, this.room()));
    this.#queuedJobs += admitted;
    return admitted;
  }

  /**
   * Queues `count` jobs whether or not they fit: jobs that left the queue but did not run,
   * and those a stream read while there was room (see roomFor).
   */
  requeue(count: number): void {
    this.#queuedJobs += count;
  }

  /** `count` queued jobs started, or left the queue without starting. */
  dequeue(count: number): void {
    this.#queuedJobs -= count;
    this.#roomMade();
  }

  /**
   * Whether a job may be queued now (room() > 0); if not, `fn` is called once soon after
   * there may be more, however often it was asked: a stream (or a graph) that found none
   * goes on then instead of failing what it would queue (it can wait; a list of jobs
   * cannot).
   */
  roomFor(fn: () => void): boolean {
    if (this.room() > 0) return true;
    this.#roomWaiters.add(fn);
    return false;
  }

  #roomMade(): void {
    if (this.#roomWaiters.size === 0) return;
    const waiters = this.#roomWaiters;
    this.#roomWaiters = new Set();
    // Later: the caller may be in the middle of taking jobs.
    queueMicrotask(() => {
      for (const fn of waiters) fn();
    });
  }

  /** The taker of a slot resumed: it takes its jobs off the queue now, or gives it back. */
  claimed(): void {
    this.#granted--;
  }

  /**
   * Resolves with a release function once a slot is free (the taker calls claimed() as it
   * resumes); rejects if `stop` aborts first. A freed slot goes to the waiter with the
   * highest `priority`, the earliest among equals.
   */
  acquire(stop: Stop, priority = 0): Promise<() => void> {
    if (stop.aborted) return Promise.reject(stop.reason);
    if (this.#busy < this.#slots) {
      this.#busy++;
      this.#granted++;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { stop, priority, seq: this.#seq++, resolve, reject, done: false };
      this.#heap.push(waiter);
      let group = this.#byStop.get(stop);
      if (!group) {
        group = { waiters: new Set(), unhear: stop.hear(() => this.#abortAll(stop)) };
        this.#byStop.set(stop, group);
      }
      group.waiters.add(waiter);
    });
  }

  #abortAll(stop: Stop): void {
    const group = this.#byStop.get(stop);
    if (!group) return;
    this.#byStop.delete(stop);
    for (const waiter of group.waiters) {
      waiter.done = true;
      waiter.reject(stop.reason);
    }
    this.#gone += group.waiters.size;
    // Aborted waiters leave the heap lazily; once they are most of it, rebuild it.
    if (this.#gone > 1024 && this.#gone * 2 > this.#heap.size) {
      this.#heap.filter((w) => !w.done);
      this.#gone = 0;
    }
  }

  /** Takes the next live waiter off the queue, skipping those already gone. */
  #next(): Waiter | undefined {
    for (let waiter = this.#heap.pop(); waiter; waiter = this.#heap.pop()) {
      if (waiter.done) {
        this.#gone--;
        continue;
      }
      waiter.done = true;
      const group = this.#byStop.get(waiter.stop);
      if (group) {
        group.waiters.delete(waiter);
        if (group.waiters.size === 0) {
          this.#byStop.delete(waiter.stop);
          group.unhear();
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
      if (next) {
        this.#granted++;
        next.resolve(this.#releaser());
      } else {
        this.#busy--;
        this.#roomMade();
      }
    };
  }
}

/** Whether `a` gets a slot before `b`: higher priority, then earlier arrival. */
function before(a: Waiter, b: Waiter): boolean {
  return a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq;
}
