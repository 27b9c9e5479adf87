// The names `fanout bench` accepts. They live here, free of imports, so that the command
// line can list them in its help without loading the suite; the suite (bench/suite.ts)
// implements each one, which its types check.
import type { WorkloadSize, Workloads } from '../../workers/workloads.js';

/** Workloads: the built-in ones; `spin` is the calibrated kernel at fixed item costs. */
export const WORKLOAD_NAMES = [
  'spin',
  'countPrimes',
  'sha256',
  'mandelbrotRow',
  'blur',
  'jsonTransform',
  'sortNumbers',
] as const satisfies readonly (keyof Workloads)[];
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

/** Per-item costs of the spin kernel; `heavy` is the heavy-tailed mix. */
export const SPIN_SIZES = ['1us', '50us', '2ms', '50ms', 'heavy'] as const;
export type SpinSize = (typeof SPIN_SIZES)[number];

/** Sizes of the other workloads (their registry's sizes). */
export const WORKLOAD_SIZES = [
  'small',
  'medium',
  'large',
] as const satisfies readonly WorkloadSize[];

export const SIZE_NAMES = [...SPIN_SIZES, ...WORKLOAD_SIZES] as const;
export type SizeName = (typeof SIZE_NAMES)[number];

/** What runs against the sequential loop (which always runs: it is the baseline). */
export const CONTENDER_NAMES = [
  'fanout',
  'split',
  'piscina',
  'tinypool',
  'workerpool',
  'poolifier',
] as const;
export type ContenderName = (typeof CONTENDER_NAMES)[number];
