// What the suite measures: one case per workload and size, each a list of items that
// every contender runs, and the sequential kernel that gives the expected results.
import {
  type SizeName,
  SPIN_SIZES,
  type SpinSize,
  WORKLOAD_SIZES,
  type WorkloadName,
} from '../src/cli/bench-catalog.js';
import {
  HEAVY_FACTOR,
  HEAVY_FRACTION,
  heavyTailed,
  type SpinInput,
  spin,
  type WorkloadSize,
  type WorkloadTask,
  workloads,
} from '../workers/workloads.js';

export interface BenchCase {
  /** `workload/size`, e.g. `spin/1us`, `blur/large`. */
  readonly id: string;
  readonly workload: WorkloadName;
  readonly size: SizeName;
  /** What one item is, for tables and charts: `spin 1 µs`, `blur large`. */
  readonly label: string;
  /** The workload export that workers run. */
  readonly task: WorkloadTask;
  readonly items: number;
  /** The cost of one item on one core (µs) where the suite sets it: the spin rows. */
  readonly itemMicros: number | undefined;
  /** Inputs hold typed arrays that the pools transfer (move) instead of copying. */
  readonly transfer: boolean;
  /**
   * The inputs of one run. For a transfer case every call gives fresh copies, since a
   * run detaches the buffers it sends.
   */
  inputs(): unknown[];
  /** The same kernel on the main thread: the sequential loop calls it. */
  run(input: unknown): unknown;
}

export interface CaseOptions {
  readonly workloads: readonly WorkloadName[];
  readonly sizes: readonly SizeName[];
  /** Threads of the parallel contenders: item counts grow with them. */
  readonly threads: number;
  readonly quick: boolean;
  /** Spin iterations that take 1 ms on this machine (from `calibrate`). */
  readonly spinPerMs: number;
  /** Multiplies every item count (tests use tiny ones). @default 1 */
  readonly itemScale?: number;
}

interface SpinRow {
  readonly micros: number;
  readonly label: string;
  /** Items in the full and the quick suite, for `t` threads. */
  readonly full: (t: number) => number;
  readonly quick: (t: number) => number;
}

// Enough 1 µs items that the loop is measurable (0.1 s; the peers, at one message per
// item, take seconds), and few enough 50 ms items that the row stays short; in between,
// about 0.4 s of sequential work per run.
const SPIN: Record<SpinSize, SpinRow> = {
  '1us': { micros: 1, label: '1 µs', full: () => 100_000, quick: () => 10_000 },
  '50us': { micros: 50, label: '50 µs', full: () => 8_000, quick: () => 1_000 },
  '2ms': {
    micros: 2_000,
    label: '2 ms',
    full: (t) => Math.max(200, 16 * t),
    quick: (t) => 8 * t,
  },
  '50ms': { micros: 50_000, label: '50 ms', full: (t) => 8 * t, quick: (t) => 2 * t },
  heavy: {
    micros: 50,
    label: `heavy-tailed (50 µs, ${HEAVY_FRACTION * 100}% x${HEAVY_FACTOR})`,
    full: () => 4_000,
    quick: () => 500,
  },
};

/** The spin kernel's sizes in order of item cost, as the chart draws them. */
export const SPIN_ORDER: readonly SpinSize[] = SPIN_SIZES;

export function spinLabel(size: SpinSize): string {
  return SPIN[size].label;
}

/**
 * `n` items taken from `base`: evenly spaced when there are enough (so uneven workloads
 * such as Mandelbrot rows keep their mix), cycled when more are wanted.
 */
export function pick<T>(base: readonly T[], n: number): T[] {
  if (base.length === 0) return [];
  if (n <= base.length) {
    return Array.from({ length: n }, (_, i) => base[Math.floor((i * base.length) / n)]!);
  }
  return Array.from({ length: n }, (_, i) => base[i % base.length]!);
}

const scaled = (items: number, scale: number) => Math.max(1, Math.round(items * scale));

/** `items` spin items of one of the kernel's sizes. */
export function spinCase(size: SpinSize, items: number, spinPerMs: number): BenchCase {
  const row = SPIN[size];
  const iterations = Math.max(1, Math.round((spinPerMs * row.micros) / 1000));
  // Every item has its own seed, so a result in the wrong place is caught.
  const inputs: SpinInput[] =
    size === 'heavy'
      ? heavyTailed(items, iterations, 7).map((input, seed) => ({ ...input, seed }))
      : Array.from({ length: items }, (_, seed) => ({ iterations, seed }));
  return {
    id: `spin/${size}`,
    workload: 'spin',
    size,
    label: `spin ${row.label}`,
    task: 'spin',
    items,
    itemMicros: row.micros,
    transfer: false,
    inputs: () => inputs,
    run: (input) => spin(input as SpinInput),
  };
}

type OtherWorkload = Exclude<WorkloadName, 'spin'>;

function workloadItems(size: WorkloadSize, base: number, options: CaseOptions): number {
  const t = options.threads;
  // Large items (tens of ms each) are kept to 8 per thread so a run stays near a second.
  const items = size === 'large' ? 8 * t : Math.max(base, 8 * t);
  return scaled(items, options.itemScale ?? 1);
}

function workloadCase(name: OtherWorkload, size: WorkloadSize, options: CaseOptions): BenchCase {
  const workload = workloads[name] as {
    task: WorkloadTask;
    makeInputs(size: WorkloadSize): unknown[];
    run(input: unknown): unknown;
  };
  const base = workload.makeInputs(size);
  const items = workloadItems(size, base.length, options);
  const inputs = pick(base, items);
  // The blur images travel by transfer, as a user would send them.
  const transfer = name === 'blur';
  return {
    id: `${name}/${size}`,
    workload: name,
    size,
    label: `${name} ${size}`,
    task: workload.task,
    items,
    itemMicros: undefined,
    transfer,
    inputs: transfer
      ? () =>
          inputs.map((input) => {
            const { pixels, ...rest } = input as { pixels: Float32Array };
            return { ...rest, pixels: pixels.slice() };
          })
      : () => inputs,
    run: (input) => workload.run(input),
  };
}

/**
 * The cases that the filters select, spin rows first, in a stable order, and those whose
 * inputs travel by transfer last: a transfer detaches buffers on the main thread, and in
 * V8 the first detach in a thread makes its typed-array code slower from then on, which
 * would slow the sequential loop of every case after it.
 */
export function buildCases(options: CaseOptions): BenchCase[] {
  const cases: BenchCase[] = [];
  for (const name of options.workloads) {
    if (name === 'spin') {
      for (const size of SPIN_SIZES) {
        if (!options.sizes.includes(size)) continue;
        const row = SPIN[size];
        const items = options.quick ? row.quick(options.threads) : row.full(options.threads);
        cases.push(spinCase(size, scaled(items, options.itemScale ?? 1), options.spinPerMs));
      }
      continue;
    }
    for (const size of WORKLOAD_SIZES) {
      if (options.sizes.includes(size)) cases.push(workloadCase(name, size, options));
    }
  }
  return [...cases.filter((c) => !c.transfer), ...cases.filter((c) => c.transfer)];
}
