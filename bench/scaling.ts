// The scaling sweep: the same work (spin items of 2 ms) run by fanout on 1, 2, ... N
// threads, against the sequential loop, giving the speedup curve of this machine.
import { type BenchCase, spinCase } from './cases.js';
import { type Contender, sequential } from './contenders.js';
import type { MeasureOptions, Timing } from './measure.js';
import { measureRow } from './rows.js';

export interface ScalingPoint {
  readonly threads: number;
  readonly state: 'ok' | 'failed' | 'skipped';
  readonly error?: { readonly code: string | undefined; readonly message: string };
  readonly timing?: Timing;
  readonly speedup?: number;
  readonly efficiency?: number;
}

export interface ScalingResult {
  readonly case: string;
  readonly label: string;
  readonly items: number;
  readonly contender: string;
  readonly sequential: Timing | undefined;
  readonly points: readonly ScalingPoint[];
}

export interface ScalingOptions {
  /** The top of the sweep. */
  readonly threads: number;
  readonly quick: boolean;
  readonly spinPerMs: number;
  readonly measure: MeasureOptions;
  readonly contender: Contender;
  readonly itemScale?: number;
  readonly log: (line: string) => void;
}

/** Every count up to 16; above, powers of two and then even steps, always ending at `max`. */
export function sweepSteps(max: number): number[] {
  if (max <= 16) return Array.from({ length: max }, (_, i) => i + 1);
  const steps = new Set<number>([1, 2, 4, 8]);
  const step = Math.ceil(max / 16);
  for (let n = 16; n < max; n += step) steps.add(n);
  steps.add(max);
  return [...steps].sort((a, b) => a - b);
}

export async function runScaling(options: ScalingOptions): Promise<ScalingResult> {
  const { threads, log } = options;
  // Enough items that every thread of the widest run gets several.
  const items = Math.max(
    1,
    Math.round(
      (options.quick ? 16 * threads : Math.max(64, 32 * threads)) * (options.itemScale ?? 1),
    ),
  );
  const c: BenchCase = spinCase('2ms', items, options.spinPerMs);
  const seq = await measureRow(c, sequential, 1, undefined, options.measure);
  const result = {
    case: c.id,
    label: c.label,
    items,
    contender: options.contender.name,
    sequential: seq.row.timing,
  };
  if (seq.row.state !== 'ok' || !seq.results || !seq.row.timing) {
    log(`  sequential FAILED: ${seq.row.error?.message ?? ''}`);
    return {
      ...result,
      points: [
        {
          threads: 1,
          state: 'failed',
          error: { code: 'ERR_BENCH_BASELINE', message: 'the sequential loop failed' },
        },
      ],
    };
  }
  const baseline = { results: seq.results, medianMs: seq.row.timing.medianMs };
  log(`  sequential ${baseline.medianMs.toFixed(1)} ms for ${items} items of ${c.label}`);
  const points: ScalingPoint[] = [];
  for (const n of sweepSteps(threads)) {
    const { row } = await measureRow(c, options.contender, n, baseline, options.measure);
    const point: ScalingPoint = {
      threads: n,
      state: row.state,
      ...(row.error ? { error: row.error } : {}),
      ...(row.timing ? { timing: row.timing } : {}),
      ...(row.speedup === undefined ? {} : { speedup: row.speedup }),
      ...(row.efficiency === undefined ? {} : { efficiency: row.efficiency }),
    };
    points.push(point);
    log(
      point.state === 'ok'
        ? `  ${String(n).padStart(3)} threads ${point.timing!.medianMs.toFixed(1).padStart(8)} ms  ${point.speedup!.toFixed(2)}x`
        : `  ${String(n).padStart(3)} threads ${point.state.toUpperCase()}: ${point.error?.message ?? ''}`,
    );
  }
  return { ...result, points };
}
