// The caller's callbacks that run while a call is under way (onProgress,
// onTaskProgress). One that throws must neither break the engine (an outcome lost half
// way through a chunk) nor be swallowed: the first error is kept, later calls of the
// callbacks are skipped, and the call fails with that error when it ends.

export class CallbackGuard {
  #error: { readonly error: unknown } | undefined;

  /** `fn`, made safe to call from inside the engine. */
  wrap<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
    return (...args) => {
      if (this.#error) return;
      try {
        fn(...args);
      } catch (error) {
        this.#error = { error };
      }
    };
  }

  /** Throws what a wrapped callback threw, if one did. */
  check(): void {
    if (this.#error) throw this.#error.error;
  }
}
