// Fails each test of a file during which a promise rejection went unhandled: a failure
// lost in the engine (a callback's error, a spawned job's) must never leave it that way.
import { afterEach, beforeEach, expect } from 'vitest';
import { nextTurn } from './latches.js';

/** Returns what went unhandled so far in the current test, for asserting on the way. */
export function failOnUnhandledRejections(): () => readonly unknown[] {
  let unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => {
    unhandled.push(reason);
  };
  beforeEach(() => {
    unhandled = [];
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(async () => {
    await nextTurn();
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled).toEqual([]);
  });
  return () => unhandled;
}
