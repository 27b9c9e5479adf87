// Built-in CPU-bound workloads. Every export below is both a task (a named export called inside a
// worker with one structured-cloneable input) and a plain function for the sequential baseline on
// the main thread, so benchmarks compare the exact same code path.
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/** mulberry32: a tiny, fast, deterministic PRNG returning floats in [0, 1). Not cryptographic. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Inputs arrive from other threads (or the CLI), so validate them instead of trusting the types.
function int(name: string, value: unknown, min = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// 1. countPrimes
// ---------------------------------------------------------------------------------------------

/** Input for {@link countPrimes}: the half-open integer range [from, to). */
export interface CountPrimesInput {
  from: number;
  to: number;
}

const SIEVE_BLOCK = 1 << 15; // 32 KiB blocks stay in L1/L2, which is what makes the sieve fast.

/** Counts the primes in [from, to) with a segmented sieve of Eratosthenes. */
export function countPrimes({ from, to }: CountPrimesInput): number {
  int('from', from);
  int('to', to);
  if (to < from) throw new RangeError(`to (${to}) must be >= from (${from})`);
  const lo = Math.max(from, 2);
  if (to <= lo) return 0;

  // Base primes up to sqrt(to - 1), from a plain sieve (small: sqrt(1e9) is ~31623).
  const limit = Math.floor(Math.sqrt(to - 1));
  const small = new Uint8Array(limit + 1);
  const basePrimes: number[] = [];
  for (let i = 2; i <= limit; i++) {
    if (small[i] === 0) {
      basePrimes.push(i);
      for (let j = i * i; j <= limit; j += i) small[j] = 1;
    }
  }

  let count = 0;
  const block = new Uint8Array(SIEVE_BLOCK);
  for (let start = lo; start < to; start += SIEVE_BLOCK) {
    const end = Math.min(start + SIEVE_BLOCK, to);
    block.fill(0, 0, end - start);
    for (const p of basePrimes) {
      if (p * p >= end) break;
      // First multiple of p in the block, but never p itself (p*p is the first composite).
      let m = Math.max(p * p, Math.ceil(start / p) * p);
      for (; m < end; m += p) block[m - start] = 1;
    }
    for (let i = 0, n = end - start; i < n; i++) if (block[i] === 0) count++;
  }
  return count;
}

// ---------------------------------------------------------------------------------------------
// 2. sha256
// ---------------------------------------------------------------------------------------------

/** Input for {@link sha256}: hash a `bytes`-long buffer generated from `seed`, `rounds` times (default 1). */
export interface Sha256Input {
  bytes: number;
  seed: number;
  rounds?: number;
}

/** Deterministic pseudo-random bytes from `seed` (4 bytes per PRNG draw, little-endian). */
export function makeBytes(bytes: number, seed: number): Uint8Array {
  int('bytes', bytes);
  const words = new Uint32Array(Math.ceil(bytes / 4));
  const next = rng(seed);
  for (let i = 0; i < words.length; i++) words[i] = next() * 4294967296;
  // Uint32Array uses platform byte order; every Node platform we target is little-endian.
  return new Uint8Array(words.buffer, 0, bytes);
}

/**
 * Hex SHA-256 digest. Round 1 hashes the buffer; each later round hashes
 * (previous digest bytes || buffer), so the cost is linear in bytes * rounds and cannot be skipped.
 */
export function sha256({ bytes, seed, rounds = 1 }: Sha256Input): string {
  int('rounds', rounds, 1);
  const data = makeBytes(bytes, seed);
  let digest = createHash('sha256').update(data).digest();
  for (let r = 1; r < rounds; r++) {
    digest = createHash('sha256').update(digest).update(data).digest();
  }
  return digest.toString('hex');
}

// ---------------------------------------------------------------------------------------------
// 3. mandelbrotRow
// ---------------------------------------------------------------------------------------------

/** Input for {@link mandelbrotRow}: row `y` of a width x height image; maxIter <= 65535. */
export interface MandelbrotRowInput {
  y: number;
  width: number;
  height: number;
  maxIter: number;
}

/**
 * Escape-iteration counts for one row of the Mandelbrot set over [-2, 1] x [-1.5, 1.5], sampled at
 * pixel centres. A value of maxIter means "did not escape" (treated as inside the set).
 * Rows through the middle cost far more than edge rows: a naturally uneven workload.
 */
export function mandelbrotRow({ y, width, height, maxIter }: MandelbrotRowInput): Uint16Array {
  int('width', width, 1);
  int('height', height, 1);
  int('y', y);
  int('maxIter', maxIter, 1);
  if (y >= height) throw new RangeError(`y (${y}) must be < height (${height})`);
  if (maxIter > 0xffff) throw new RangeError(`maxIter must be <= 65535 to fit a Uint16Array`);
  const out = new Uint16Array(width);
  const ci = -1.5 + (3 * (y + 0.5)) / height;
  for (let x = 0; x < width; x++) {
    const cr = -2 + (3 * (x + 0.5)) / width;
    let zr = 0;
    let zi = 0;
    let i = 0;
    for (; i < maxIter; i++) {
      const zr2 = zr * zr;
      const zi2 = zi * zi;
      if (zr2 + zi2 > 4) break;
      zi = 2 * zr * zi + ci;
      zr = zr2 - zi2 + cr;
    }
    out[x] = i;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// 4. blur
// ---------------------------------------------------------------------------------------------

/** Input for {@link blur}: a row-major grayscale image and a gaussian kernel radius (0 = copy). */
export interface BlurInput {
  pixels: Float32Array;
  width: number;
  height: number;
  radius: number;
}

/** Deterministic grayscale image with values in [0, 1). */
export function makeImage(width: number, height: number, seed: number): Float32Array {
  int('width', width);
  int('height', height);
  const next = rng(seed);
  const img = new Float32Array(width * height);
  for (let i = 0; i < img.length; i++) img[i] = next();
  return img;
}

function gaussianKernel(radius: number): Float64Array {
  // sigma = radius / 2 keeps the truncated tails small (~2 sigma) while every tap still matters.
  const sigma = Math.max(radius / 2, 0.5);
  const k = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const w = Math.exp(-(i * i) / (2 * sigma * sigma));
    k[i + radius] = w;
    sum += w;
  }
  for (let i = 0; i < k.length; i++) k[i] = k[i]! / sum; // normalised: constant images stay constant
  return k;
}

/**
 * Separable gaussian blur, O(width * height * radius). Edges clamp to the nearest pixel, so a
 * constant image is preserved exactly and the mean is preserved approximately. Returns a new array.
 */
export function blur({ pixels, width, height, radius }: BlurInput): Float32Array {
  int('width', width);
  int('height', height);
  int('radius', radius);
  if (!(pixels instanceof Float32Array) || pixels.length !== width * height) {
    throw new RangeError(`pixels must be a Float32Array of length width * height`);
  }
  const k = gaussianKernel(radius);
  // Intermediate in Float64 so the two passes do not accumulate float32 rounding twice.
  const tmp = new Float64Array(pixels.length);
  const out = new Float32Array(pixels.length);
  // One function per pass: V8 compiles a hot loop on its own (on-stack replacement), and
  // code after it that has not run yet (here, the second pass) then left that compiled
  // loop through a deoptimization in every later call.
  blurRows(pixels, tmp, width, height, k, radius);
  blurColumns(tmp, out, width, height, k, radius);
  return out;
}

function blurRows(
  pixels: Float32Array,
  tmp: Float64Array,
  width: number,
  height: number,
  k: Float64Array,
  radius: number,
): void {
  const maxX = width - 1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      let acc = 0;
      for (let i = -radius; i <= radius; i++) {
        const xx = Math.min(Math.max(x + i, 0), maxX);
        acc += k[i + radius]! * pixels[row + xx]!;
      }
      tmp[row + x] = acc;
    }
  }
}

function blurColumns(
  tmp: Float64Array,
  out: Float32Array,
  width: number,
  height: number,
  k: Float64Array,
  radius: number,
): void {
  const maxY = height - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let acc = 0;
      for (let i = -radius; i <= radius; i++) {
        const yy = Math.min(Math.max(y + i, 0), maxY);
        acc += k[i + radius]! * tmp[yy * width + x]!;
      }
      out[y * width + x] = acc;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// 5. jsonTransform
// ---------------------------------------------------------------------------------------------

/** Input for {@link jsonTransform}: generate `count` records from `seed`. */
export interface JsonTransformInput {
  count: number;
  seed: number;
}

interface RawRecord {
  id: number;
  name: string;
  group: string;
  score: number;
  active: boolean;
  tags: string[];
}

interface GroupSummary {
  groupName: string;
  activeCount: number;
  totalScore: number;
  meanScore: number;
  topId: number;
  tagCounts: Record<string, number>;
}

const GROUPS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
const TAGS = ['red', 'green', 'blue', 'cyan', 'magenta', 'yellow'];

/**
 * Generates records, round-trips them through JSON.stringify/JSON.parse (the serialisation cost
 * is the point), keeps the active ones, aggregates per group with renamed fields, and returns the
 * JSON of the summary sorted by group name.
 */
export function jsonTransform({ count, seed }: JsonTransformInput): string {
  int('count', count);
  const next = rng(seed);
  const records: RawRecord[] = [];
  for (let id = 0; id < count; id++) {
    const tags: string[] = [];
    const nTags = Math.floor(next() * 4);
    for (let t = 0; t < nTags; t++) tags.push(TAGS[Math.floor(next() * TAGS.length)]!);
    records.push({
      id,
      name: `item-${id}-${Math.floor(next() * 1e9).toString(36)}`,
      group: GROUPS[Math.floor(next() * GROUPS.length)]!,
      score: Math.round(next() * 1e6) / 100,
      active: next() < 0.7,
      tags,
    });
  }
  const parsed = JSON.parse(JSON.stringify(records)) as RawRecord[];

  const byGroup = new Map<string, GroupSummary & { bestScore: number }>();
  for (const r of parsed) {
    if (!r.active) continue;
    let g = byGroup.get(r.group);
    if (!g) {
      g = {
        groupName: r.group,
        activeCount: 0,
        totalScore: 0,
        meanScore: 0,
        topId: -1,
        tagCounts: {},
        bestScore: -1,
      };
      byGroup.set(r.group, g);
    }
    g.activeCount++;
    g.totalScore += r.score;
    if (r.score > g.bestScore) {
      g.bestScore = r.score;
      g.topId = r.id;
    }
    for (const t of r.tags) g.tagCounts[t] = (g.tagCounts[t] ?? 0) + 1;
  }
  const summary: GroupSummary[] = [...byGroup.values()]
    .sort((a, b) => (a.groupName < b.groupName ? -1 : a.groupName > b.groupName ? 1 : 0))
    .map(({ bestScore: _drop, ...g }) => ({
      ...g,
      // Rounded so the output does not depend on float summation noise in the last digits.
      totalScore: Math.round(g.totalScore * 100) / 100,
      meanScore: Math.round((g.totalScore / g.activeCount) * 100) / 100,
    }));
  return JSON.stringify(summary);
}

// ---------------------------------------------------------------------------------------------
// 6. sortNumbers
// ---------------------------------------------------------------------------------------------

/** Input for {@link sortNumbers}: sort `count` numbers generated from `seed`. */
export interface SortNumbersInput {
  count: number;
  seed: number;
}

/** Deterministic unsorted numbers in [-1e6, 1e6) (negatives catch accidental string sorting). */
export function makeNumbers(count: number, seed: number): Float64Array {
  int('count', count);
  const next = rng(seed);
  const a = new Float64Array(count);
  for (let i = 0; i < count; i++) a[i] = (next() - 0.5) * 2e6;
  return a;
}

/**
 * Position-weighted checksum: sum of a[i] * ((i % 1024) + 1). Any change of order changes it,
 * so it certifies the sort without shipping the whole array back to the caller.
 */
export function orderChecksum(a: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * ((i % 1024) + 1);
  return sum;
}

/** Sorts `count` pseudo-random numbers (numeric Float64Array sort) and returns {@link orderChecksum}. */
export function sortNumbers({ count, seed }: SortNumbersInput): number {
  const a = makeNumbers(count, seed);
  a.sort();
  return orderChecksum(a);
}

// ---------------------------------------------------------------------------------------------
// 7. spin: calibrated synthetic cost
// ---------------------------------------------------------------------------------------------

/** Input for {@link spin}: run `iterations` steps of the kernel; `seed` defaults to 0. */
export interface SpinInput {
  iterations: number;
  seed?: number;
}

/**
 * A tight xorshift32 loop whose cost is linear in `iterations`. The result folds in every step,
 * so the JIT cannot drop or shortcut the loop; it is a signed 32-bit integer.
 */
export function spin({ iterations, seed = 0 }: SpinInput): number {
  int('iterations', iterations);
  // xorshift is stuck at 0, so mix the seed with a constant and force a non-zero state.
  let x = (seed ^ 0x9e3779b9) | 0 || 1;
  let acc = 0;
  for (let i = 0; i < iterations; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    acc = (Math.imul(acc, 31) + (x ^ i)) | 0;
  }
  // Nothing is computed after the loop: V8 compiles a hot first call's loop on its own
  // (on-stack replacement) before the code after it has run, and an operation there with
  // no type feedback yet made every later call leave that compiled loop through a
  // deoptimization (`acc >>> 0` did so ~1,500 times in 8 runs of 8,000 items in a thread).
  return acc;
}

// Calibration results are folded in here (a module-level slot the JIT cannot prove dead) so the
// timed calls cannot be optimised away.
let _sink = 0;

/**
 * How many {@link spin} iterations take about `targetMicros` µs on the calling thread.
 * Warms the JIT up first, then takes the median ns/iteration over several timed runs of >= 5 ms.
 * Takes roughly 100 ms. Always returns an integer >= 1.
 */
export function calibrate(targetMicros: number): number {
  if (!Number.isFinite(targetMicros) || targetMicros <= 0) {
    throw new RangeError(`targetMicros must be a positive number, got ${targetMicros}`);
  }
  // Warm-up: enough calls for the optimising tier to compile spin.
  for (let i = 0; i < 200; i++) _sink ^= spin({ iterations: 10_000, seed: i });

  // Grow the batch until one run is long enough that timer resolution is negligible.
  let n = 100_000;
  for (;;) {
    const t0 = performance.now();
    _sink ^= spin({ iterations: n, seed: n });
    if (performance.now() - t0 >= 5 || n >= 2 ** 40) break;
    n *= 2;
  }

  const nsPerIter: number[] = [];
  for (let r = 0; r < 9; r++) {
    const t0 = performance.now();
    _sink ^= spin({ iterations: n, seed: r });
    nsPerIter.push(((performance.now() - t0) * 1e6) / n);
  }
  nsPerIter.sort((a, b) => a - b);
  const median = nsPerIter[nsPerIter.length >> 1]!;
  // A clock that did not tick (median 0) would mean "infinitely fast"; fall back to the batch size.
  if (!(median > 0)) return Math.max(1, n);
  return Math.max(1, Math.round((targetMicros * 1000) / median));
}

/** Fraction of heavy items produced by {@link heavyTailed}, and how much more they cost. */
export const HEAVY_FRACTION = 0.02;
export const HEAVY_FACTOR = 100;

/**
 * `n` spin inputs where max(1, round(2% of n)) randomly placed items cost 100x baseIterations and
 * the rest cost baseIterations. A fixed heavy count (rather than a coin flip per item) keeps small
 * batches from having no tail at all. Deterministic for a given seed.
 */
export function heavyTailed(n: number, baseIterations: number, seed: number): SpinInput[] {
  int('n', n);
  int('baseIterations', baseIterations);
  const items: SpinInput[] = [];
  for (let i = 0; i < n; i++) items.push({ iterations: baseIterations });
  if (n === 0) return items;
  const heavy = Math.max(1, Math.round(n * HEAVY_FRACTION));
  // Partial Fisher-Yates over indices picks `heavy` distinct positions.
  const idx = Array.from({ length: n }, (_, i) => i);
  const next = rng(seed);
  for (let i = 0; i < heavy; i++) {
    const j = i + Math.floor(next() * (n - i));
    const pick = idx[j]!;
    idx[j] = idx[i]!;
    idx[i] = pick;
    items[pick] = { iterations: baseIterations * HEAVY_FACTOR };
  }
  return items;
}

// ---------------------------------------------------------------------------------------------
// 9. Benchmark registry
// ---------------------------------------------------------------------------------------------

export type WorkloadSize = 'small' | 'medium' | 'large';

/** Names of the task exports in this module that a worker can run. */
export type WorkloadTask =
  | 'countPrimes'
  | 'sha256'
  | 'mandelbrotRow'
  | 'blur'
  | 'jsonTransform'
  | 'sortNumbers'
  | 'spin';

/**
 * A workload for the benchmark harness. `task` is the export name to run in a worker; `run` is the
 * same function for the main-thread sequential baseline.
 */
export interface Workload<In = unknown, Out = unknown> {
  name: string;
  description: string;
  task: WorkloadTask;
  makeInputs(size: WorkloadSize): In[];
  // Method syntax (not a property) so a Workload<X, Y> is assignable to Workload<unknown, unknown>.
  run(input: In): Out;
}

const ITEMS = 32;
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

// Sizes target roughly 50-500 µs (small), ~2 ms (medium) and 20-50 ms (large) per item on a
// modern core with Node 20 (measured on a slower 2-core VM at ~2x these, then scaled). They only
// need to be in the right ballpark: benchmarks that need exact per-item cost use spin + calibrate.
const PRIME_SPAN = { small: 50_000, medium: 500_000, large: 6_000_000 };
const SHA_BYTES = { small: 64 << 10, medium: 1 << 20, large: 8 << 20 };
const MANDEL = {
  small: { width: 400, maxIter: 1_500 },
  medium: { width: 1_000, maxIter: 6_000 },
  large: { width: 2_000, maxIter: 40_000 },
};
const BLUR = {
  small: { side: 80, radius: 3 },
  medium: { side: 192, radius: 6 },
  large: { side: 512, radius: 12 },
};
const JSON_COUNT = { small: 150, medium: 1_500, large: 15_000 };
const SORT_COUNT = { small: 5_000, medium: 40_000, large: 300_000 };
const SPIN_ITERS = { small: 200_000, medium: 2_000_000, large: 25_000_000 };

/** The registry's static type: each entry keeps its precise input and output types. */
export interface Workloads {
  countPrimes: Workload<CountPrimesInput, number>;
  sha256: Workload<Sha256Input, string>;
  mandelbrotRow: Workload<MandelbrotRowInput, Uint16Array>;
  blur: Workload<BlurInput, Float32Array>;
  jsonTransform: Workload<JsonTransformInput, string>;
  sortNumbers: Workload<SortNumbersInput, number>;
  spin: Workload<SpinInput, number>;
}

export const workloads: Workloads = {
  countPrimes: {
    name: 'countPrimes',
    description: 'Segmented sieve over consecutive integer ranges',
    task: 'countPrimes',
    makeInputs: (size) =>
      range(ITEMS).map((i) => ({ from: i * PRIME_SPAN[size], to: (i + 1) * PRIME_SPAN[size] })),
    run: countPrimes,
  },
  sha256: {
    name: 'sha256',
    description: 'SHA-256 of a seeded pseudo-random buffer (native hashing after JS generation)',
    task: 'sha256',
    makeInputs: (size) => range(ITEMS).map((i) => ({ bytes: SHA_BYTES[size], seed: i, rounds: 1 })),
    run: sha256,
  },
  mandelbrotRow: {
    name: 'mandelbrotRow',
    description: 'One Mandelbrot row per item; middle rows cost far more than edge rows',
    task: 'mandelbrotRow',
    makeInputs: (size) => {
      const { width, maxIter } = MANDEL[size];
      const height = 64;
      return range(height).map((y) => ({ y, width, height, maxIter }));
    },
    run: mandelbrotRow,
  },
  blur: {
    name: 'blur',
    description: 'Separable gaussian blur of a grayscale image (large-ish input to transfer)',
    task: 'blur',
    makeInputs: (size) => {
      const { side, radius } = BLUR[size];
      return range(16).map((i) => ({
        pixels: makeImage(side, side, i),
        width: side,
        height: side,
        radius,
      }));
    },
    run: blur,
  },
  jsonTransform: {
    name: 'jsonTransform',
    description: 'Generate records, JSON round-trip, filter and aggregate by group',
    task: 'jsonTransform',
    makeInputs: (size) => range(ITEMS).map((i) => ({ count: JSON_COUNT[size], seed: i })),
    run: jsonTransform,
  },
  sortNumbers: {
    name: 'sortNumbers',
    description: 'Generate and sort a Float64Array, return an order checksum',
    task: 'sortNumbers',
    makeInputs: (size) => range(ITEMS).map((i) => ({ count: SORT_COUNT[size], seed: i })),
    run: sortNumbers,
  },
  spin: {
    name: 'spin',
    description: 'Uniform synthetic arithmetic loop (use calibrate() for exact per-item cost)',
    task: 'spin',
    makeInputs: (size) => range(ITEMS * 2).map((i) => ({ iterations: SPIN_ITERS[size], seed: i })),
    run: spin,
  },
};

/** The registry as a list, type-erased for harnesses that iterate over every workload. */
export const workloadList: Workload[] = Object.values(workloads);
