// Summaries of a measurement repeated in rounds, shared by the bench scripts.

/** The median (the upper one for an even count); leaves `values` as they are. */
export const median = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b)[values.length >> 1]!;

/** `min–max` of `values`, with `digits` decimals. */
export const range = (values: readonly number[], digits: number): string =>
  `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;
