// Times one contender on one case with tinybench, after a run that warms it up and
// checks its results against the sequential loop's: a fast wrong answer is a failure.
import { isDeepStrictEqual } from 'node:util';
import { Bench } from 'tinybench';
import type { BenchCase } from './cases.js';
import type { ContenderInstance } from './contenders.js';

/** A contender's results differ from the sequential loop's. */
export class ResultMismatchError extends Error {
  readonly code = 'ERR_BENCH_MISMATCH';
  override name = 'ResultMismatchError';
}

/** How long one run of a case took, over the measured iterations (ms). */
export interface Timing {
  readonly samples: number;
  readonly medianMs: number;
  readonly p25Ms: number;
  readonly p75Ms: number;
  readonly meanMs: number;
  readonly minMs: number;
  /** Relative margin of error of the mean, in percent (95% confidence). */
  readonly rmePercent: number;
}

export interface MeasureOptions {
  /** Fewest measured runs. */
  readonly minIterations: number;
  /** Most measured runs. */
  readonly maxIterations: number;
  /** Measured runs continue until they add up to this many ms (within the bounds above). */
  readonly timeMs: number;
  /**
   * Most untimed runs after the checking run, before the measured ones; they also tell
   * what a run costs. None when the checking run alone took longer than `timeMs`, and
   * no more once they add up to `timeMs`.
   */
  readonly warmupIterations: number;
}

function show(value: unknown): string {
  if (ArrayBuffer.isView(value)) {
    const view = value as unknown as ArrayLike<number>;
    const head = Array.from({ length: Math.min(view.length, 4) }, (_, i) => view[i]);
    return `${value.constructor.name}(${view.length}) [${head.join(', ')}${view.length > 4 ? ', ...' : ''}]`;
  }
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Throws ResultMismatchError, naming the first item that differs, unless equal. */
export function verify(actual: unknown, expected: readonly unknown[], who: string): void {
  if (!Array.isArray(actual)) {
    throw new ResultMismatchError(`${who} returned ${show(actual)}, not an array of results`);
  }
  if (actual.length !== expected.length) {
    throw new ResultMismatchError(
      `${who} returned ${actual.length} results for ${expected.length} items`,
    );
  }
  for (let i = 0; i < expected.length; i++) {
    if (!isDeepStrictEqual(actual[i], expected[i])) {
      throw new ResultMismatchError(
        `${who} got item ${i} wrong: ${show(actual[i])} where the sequential loop gives ${show(expected[i])}`,
      );
    }
  }
}

/** The q-quantile of sorted samples, interpolated linearly. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/**
 * Runs the case once on the started contender, checks the results against `expected`
 * (or returns them as the expected ones when there are none yet), then measures it.
 */
export async function measure(
  c: BenchCase,
  name: string,
  instance: ContenderInstance,
  expected: readonly unknown[] | undefined,
  options: MeasureOptions,
): Promise<{ timing: Timing; results: unknown[] }> {
  const checked = performance.now();
  const results = await instance.run(c, c.inputs());
  // What one run costs, overstated: the checking run also started threads, loaded code.
  let runMs = performance.now() - checked;
  if (expected) verify(results, expected, name);

  // Unless the checking run was long already (it warmed up as well), untimed runs warm
  // up (JIT in every thread, a pool's own adaptation) and tell better what a run costs:
  // the timed runs aim at timeMs in all. Warming up stops once it has taken about as long.
  if (runMs <= options.timeMs) {
    let spent = 0;
    for (let i = 0; i < options.warmupIterations && spent < options.timeMs; i++) {
      const inputs = c.inputs();
      const started = performance.now();
      await instance.run(c, inputs);
      runMs = performance.now() - started;
      spent += runMs;
    }
  }
  const iterations = Math.min(
    options.maxIterations,
    Math.max(options.minIterations, Math.ceil(options.timeMs / Math.max(runMs, 0.001))),
  );
  // A transfer case detaches what it sends: each run gets fresh inputs, made untimed.
  let inputs = c.inputs();
  const fresh = c.transfer
    ? () => {
        inputs = c.inputs();
      }
    : undefined;
  let last: unknown;
  const bench = new Bench({
    iterations,
    time: 0,
    warmup: false,
    retainSamples: true,
    throws: true,
  });
  if (instance.async) {
    bench.add(
      name,
      async () => {
        last = await instance.run(c, inputs);
      },
      { async: true, ...(fresh ? { beforeEach: fresh } : {}) },
    );
  } else {
    bench.add(
      name,
      () => {
        last = instance.run(c, inputs);
      },
      { async: false, ...(fresh ? { beforeEach: fresh } : {}) },
    );
  }
  await bench.run();
  const result = bench.tasks[0]?.result;
  if (result?.state !== 'completed') {
    throw new Error(`${name}: the measurement ended in state ${result?.state ?? 'unknown'}`);
  }
  // The last measured run is checked too: a contender must not go wrong under load.
  verify(last, expected ?? results, name);
  const { latency } = result;
  const sorted = [...(latency.samples ?? [])].sort((a, b) => a - b);
  return {
    results,
    timing: {
      samples: latency.samplesCount,
      medianMs: latency.p50,
      p25Ms: quantile(sorted, 0.25),
      p75Ms: quantile(sorted, 0.75),
      meanMs: latency.mean,
      minMs: latency.min,
      rmePercent: latency.rme,
    },
  };
}
