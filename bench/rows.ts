// One contender on one case: started, checked, measured and stopped, with what the
// measurement implies (speedup, efficiency, per-item overhead). Never throws: a failure
// is part of the row.
import type { SizeName, WorkloadName } from '../src/cli/bench-catalog.js';
import type { BenchCase } from './cases.js';
import { type Contender, ContenderUnavailableError } from './contenders.js';
import { type MeasureOptions, measure, type Timing } from './measure.js';

/** One contender on one case. */
export interface Row {
  readonly case: string;
  readonly workload: WorkloadName;
  readonly size: SizeName;
  readonly label: string;
  readonly items: number;
  /** The cost of one item on one core (µs), for the spin rows. */
  readonly itemMicros: number | undefined;
  readonly contender: string;
  readonly threads: number;
  /** `failed`: it threw or returned wrong results; `skipped`: its library is not installed. */
  readonly state: 'ok' | 'failed' | 'skipped';
  readonly error?: { readonly code: string | undefined; readonly message: string };
  readonly timing?: Timing;
  /** Sequential median / this median. */
  readonly speedup?: number;
  /** speedup / threads. */
  readonly efficiency?: number;
  /** (median - sequential median / threads) / items, in µs: what each item cost beyond its share. */
  readonly overheadUsPerItem?: number;
}

export function errorOf(error: unknown): NonNullable<Row['error']> {
  const code = (error as { code?: unknown } | null)?.code;
  return {
    code: typeof code === 'string' ? code : undefined,
    message: error instanceof Error ? error.message : String(error),
  };
}

export function base(c: BenchCase, contender: string, threads: number) {
  return {
    case: c.id,
    workload: c.workload,
    size: c.size,
    label: c.label,
    items: c.items,
    itemMicros: c.itemMicros,
    contender,
    threads,
  };
}

/** Starts, checks, measures and stops one contender on one case; never throws. */
export async function measureRow(
  c: BenchCase,
  contender: Contender,
  threads: number,
  baseline: { readonly results: readonly unknown[]; readonly medianMs: number } | undefined,
  options: MeasureOptions,
): Promise<{ row: Row; results: unknown[] | undefined }> {
  let instance: Awaited<ReturnType<Contender['start']>> | undefined;
  try {
    instance = await contender.start(threads);
    const { timing, results } = await measure(
      c,
      contender.name,
      instance,
      baseline?.results,
      options,
    );
    const used = instance.threads;
    const seqMs = baseline?.medianMs ?? timing.medianMs;
    const speedup = seqMs / timing.medianMs;
    return {
      results,
      row: {
        ...base(c, contender.name, used),
        state: 'ok',
        timing,
        speedup,
        efficiency: speedup / used,
        overheadUsPerItem: ((timing.medianMs - seqMs / used) / c.items) * 1000,
      },
    };
  } catch (error) {
    const state = error instanceof ContenderUnavailableError ? 'skipped' : 'failed';
    return {
      results: undefined,
      row: {
        ...base(c, contender.name, instance?.threads ?? threads),
        state,
        error: errorOf(error),
      },
    };
  } finally {
    await instance?.close().catch(() => {});
  }
}
