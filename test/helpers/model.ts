// The model that the randomized tests check calls against: items that fail for good, fail
// only their first attempts, or end their worker, and what each must give. A seeded
// generator makes every scenario reproducible from its number.
import { it } from 'vitest';
import { defineTask, type Runner } from '../../src/index.js';

export interface Item {
  readonly x: number;
  readonly fail: boolean;
  readonly succeedOn: number;
  /** Ends its worker (threads only: the inline executor cannot survive it). */
  readonly exit: boolean;
  /** Four copies of x, for calls that transfer: the task checks that they arrived whole. */
  readonly data?: Float64Array;
}

/** Runs an item in a worker (see fixtures/chunk-tasks.mjs). */
export const modelItem = defineTask<Item, number>(
  new URL('../fixtures/chunk-tasks.mjs', import.meta.url),
  'modelItem',
);

/** The value of an item's successful attempt, as the fixture computes it. */
export const itemValue = (x: number, attempt: number): number => x * 3 + 1_000_000 * attempt;

/**
 * What the fixture's modelItem does, for the same item run as a main-thread function job:
 * fails for good, fails the attempts before `succeedOn`, else gives its value. (It never
 * ends its thread: such items are never run this way.)
 */
export async function itemOnMain(item: Item, attempt: number): Promise<number> {
  await Promise.resolve();
  if (item.fail) throw new Error(`item ${item.x} fails`);
  if (attempt < item.succeedOn) throw new Error(`item ${item.x}, attempt ${attempt} fails`);
  return itemValue(item.x, attempt);
}

/** mulberry32, with a helper to pick one of several values. */
export function random(seed: number): { next: () => number; pick: <T>(values: readonly T[]) => T } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, pick: (values) => values[Math.floor(next() * values.length)]! };
}

/** `n` items, some failing for good, some at first, some (when `crashes`) ending their worker. */
export function items(next: () => number, n: number, crashes: boolean): Item[] {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)]!;
  const failRate = pick([0, 0, 0.01, 0.05]);
  const flakyRate = pick([0, 0.1, 0.3]);
  // A crash costs a worker's restart: rare, and only in small scenarios.
  const exitRate = crashes && n <= 40 ? pick([0, 0, 0, 0.05]) : 0;
  return Array.from({ length: n }, (_, x) => ({
    x,
    fail: next() < failRate,
    succeedOn: next() < flakyRate ? 1 + Math.floor(next() * 3) : 1,
    exit: next() < exitRate,
  }));
}

export type Expected =
  | { readonly ok: true; readonly value: number; readonly attempts: number }
  | { readonly ok: false; readonly attempts: number; readonly code: string };

/** What the model says an item gives: its value, or how it fails, and after how many attempts. */
export function expected(item: Item, retries: number): Expected {
  const allowed = retries + 1;
  if (item.exit) return { ok: false, attempts: allowed, code: 'ERR_WORKER_EXITED' };
  if (item.fail) return { ok: false, attempts: allowed, code: 'ERR_TASK_FAILED' };
  if (item.succeedOn > allowed) return { ok: false, attempts: allowed, code: 'ERR_TASK_FAILED' };
  return { ok: true, value: itemValue(item.x, item.succeedOn), attempts: item.succeedOn };
}

/** Labels a failure with its scenario, so that a red run says which seed to replay. */
export function labelled(failure: unknown, seed: number, what: unknown): unknown {
  if (failure instanceof Error) {
    failure.message = `scenario ${seed} (${JSON.stringify(what)}): ${failure.message}`;
  }
  return failure;
}

/** Scenarios per test: more with MODEL_SCENARIOS=n (a local stress run); CI runs the default. */
export const SCENARIOS = Number(process.env.MODEL_SCENARIOS ?? 48);

/** Runs scenarios `first`.. `first + count - 1`, `together` at a time on the same runner. */
async function scenarios(
  first: number,
  count: number,
  together: number,
  run: (seed: number) => Promise<void>,
): Promise<void> {
  for (let seed = first; seed < first + count; seed += together) {
    const group = Array.from(
      { length: Math.min(together, first + count - seed) },
      (_, k) => seed + k,
    );
    await Promise.all(group.map(run));
  }
}

/**
 * A model's two tests: SCENARIOS scenarios one after another on a runner, and as many
 * others three at a time on one runner (calls sharing its threads, one stopping or
 * crashing while the others go on). `runOn(runner)` runs and checks one scenario by seed.
 */
export function modelTests(
  what: string,
  newRunner: () => Runner,
  runOn: (runner: Runner) => (seed: number) => Promise<void>,
): void {
  const timeout = Math.max(30_000, SCENARIOS * 100);
  it(
    `${SCENARIOS} random ${what} give what the model says`,
    () => scenarios(1, SCENARIOS, 1, runOn(newRunner())),
    timeout,
  );
  it(
    `${SCENARIOS} more, three at a time on one runner, do too`,
    () => scenarios(100_001, SCENARIOS, 3, runOn(newRunner())),
    timeout,
  );
}

/**
 * Whether a scenario transfers, and its items with buffers to move if so. Not with items
 * that end their worker: what their chunk-mates then give depends on how items were
 * chunked (their buffers go with the worker), which the model does not know.
 */
export function withTransfer(
  next: () => number,
  list: Item[],
): { transfer: boolean; items: Item[] } {
  const transfer = list.every((item) => !item.exit) && next() < 0.3;
  return {
    transfer,
    items: transfer
      ? list.map((item) => ({ ...item, data: new Float64Array(4).fill(item.x) }))
      : list,
  };
}
