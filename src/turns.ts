// Answers handed over within a budget of the main thread's time a turn of its event loop.
// (Node's own setImmediate, not the global: fake timers in a caller's tests replace that,
// and a turn that never came would hold every later answer of the process.)
import { setImmediate } from 'node:timers';
import { MAIN_BUDGET_MS } from './chunking.js';

/**
 * Answers are handed over at most ~MAIN_BUDGET_MS of the main thread's time a turn of its
 * event loop, across calls: answers that arrive together (threads that answered while
 * the main thread was busy) are each handed over in one go, so one after the other they
 * would hold the event loop for as many chunks. Past the budget, the next waits for the
 * loop to turn (setImmediate: timers and I/O go between), and answers hand over in the
 * order they came.
 */
export class Turns {
  /** What answers handed over in this turn cost (ms): taking them in, handing them over. */
  #spentMs = 0;
  /** Answers waiting for their turn, in the order they came. */
  readonly #waiting: (() => void)[] = [];
  /** One was let go (or goes at once) and has not left yet. */
  #busy = false;
  /** The loop's turn is awaited (an immediate is due). */
  #turning = false;

  /** Undefined when the answer may be handed over at once; else when it may. */
  enter(): Promise<void> | undefined {
    if (!this.#busy && this.#waiting.length === 0 && this.#spentMs < MAIN_BUDGET_MS) {
      this.#busy = true;
      this.#awaitTurn();
      return undefined;
    }
    this.#awaitTurn();
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** The answer let in has been handed over, at a cost of `ms`: the next may go. */
  leave(ms: number): void {
    this.#busy = false;
    if (ms > 0) this.#spentMs += ms;
    if (this.#spentMs < MAIN_BUDGET_MS) this.#next();
  }

  #next(): void {
    const go = this.#waiting.shift();
    if (!go) return;
    this.#busy = true;
    go();
  }

  #awaitTurn(): void {
    if (this.#turning) return;
    this.#turning = true;
    setImmediate(() => {
      this.#turning = false;
      this.#spentMs = 0;
      if (!this.#busy) this.#next();
      if (this.#waiting.length > 0 || this.#busy) this.#awaitTurn();
    });
  }
}

/** The process's: every call's answers take turns. */
export const turns = new Turns();
