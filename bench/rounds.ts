// A measurement repeated in rounds, and its summaries, shared by the bench scripts.
import { Bench } from 'tinybench';

/** The median (the upper one for an even count); leaves `values` as they are. */
export const median = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b)[values.length >> 1]!;

/** `min–max` of `values`, with `digits` decimals. */
export const range = (values: readonly number[], digits: number): string =>
  `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;

/**
 * One round: each contender called `calls` times (after `warmup` calls), side by side by
 * tinybench. Its median call time (ms) is added to the contender's list in `p50s`.
 */
export async function round(
  contenders: Record<string, () => Promise<unknown>>,
  p50s: Map<string, number[]>,
  calls: number,
  warmup: number,
): Promise<void> {
  const bench = new Bench({ iterations: calls, time: 0, warmupIterations: warmup });
  for (const [name, call] of Object.entries(contenders)) bench.add(name, call);
  await bench.run();
  for (const task of bench.tasks) {
    if (task.result?.state !== 'completed') throw new Error(`${task.name} failed`);
    p50s.get(task.name)?.push(task.result.latency.p50);
  }
}
