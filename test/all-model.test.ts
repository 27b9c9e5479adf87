// all() and any() against the model: random scenarios mix worker jobs with main-thread
// function jobs, in the (task, inputs), array and record forms, under both policies, with
// retries, chunk sizes and concurrency caps, and every result is checked against what the
// model says each job must give. Seeded, so a failing scenario names the seed to replay.
import { describe, expect } from 'vitest';
import {
  type CallOptions,
  type CallStats,
  type CallTrace,
  type JobLike,
  job,
  type Runner,
} from '../src/index.js';
import { executors } from './helpers/executors.js';
import {
  expected,
  type Item,
  itemOnMain,
  items,
  labelled,
  modelItem,
  modelTests,
  random,
  withTransfer,
} from './helpers/model.js';
import { trackRunners } from './helpers/runners.js';

const createRunner = trackRunners();

type Form = 'task' | 'array' | 'record';

interface Scenario {
  readonly seed: number;
  readonly call: 'all' | 'any';
  readonly form: Form;
  readonly items: readonly Item[];
  /** Which items run as main-thread functions instead of worker tasks. */
  readonly onMain: readonly boolean[];
  readonly options: CallOptions;
}

function scenario(seed: number, crashes: boolean): Scenario {
  const { next, pick } = random(seed);
  const n = pick([0, 1, 2, 7, 40, 150]);
  const fnRate = pick([0, 0, 0.2]);
  const onMain = Array.from({ length: n }, () => next() < fnRate);
  // A main-thread function must not end the process: its items never exit.
  const moved = withTransfer(
    next,
    items(next, n, crashes).map((item, x) => (onMain[x] ? { ...item, exit: false } : item)),
  );
  const list = moved.items;
  const form: Form = onMain.some(Boolean)
    ? pick(['array', 'record'] as const)
    : pick(['task', 'array', 'record'] as const);
  return {
    seed,
    call: pick(['all', 'all', 'any'] as const),
    form,
    items: list,
    onMain,
    options: {
      policy: pick(['fail-fast', 'settle'] as const),
      retries: pick([0, 1, 2]),
      chunkSize: pick(['auto', 'auto', 1, 3, 16] as const),
      ...(next() < 0.25 ? { concurrency: pick([1, 2, 3]) } : {}),
      ...(moved.transfer ? { transfer: true } : {}),
    },
  };
}

/** The job of item `item` in scenario `s`: a worker task, or the same logic on the main thread. */
function jobOf(s: Scenario, item: Item): JobLike {
  if (!s.onMain[item.x]) return job(modelItem, item);
  return ({ attempt }: { attempt: number }) => itemOnMain(item, attempt);
}

const keyOf = (x: number) => `k${x}`;

/** Calls all() or any() in the scenario's form; settle reports come back as they are. */
function run(runner: Runner, s: Scenario, options: CallOptions): Promise<unknown> {
  const call = (s.call === 'all' ? runner.all : runner.any).bind(runner) as (
    ...args: unknown[]
  ) => Promise<unknown>;
  const opts = s.call === 'any' ? { ...options, policy: undefined } : options;
  const clean = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
  switch (s.form) {
    case 'task':
      return call(modelItem, s.items, clean);
    case 'array':
      return call(
        s.items.map((item) => jobOf(s, item)),
        clean,
      );
    case 'record':
      return call(
        Object.fromEntries(s.items.map((item) => [keyOf(item.x), jobOf(s, item)])),
        clean,
      );
  }
}

/** The index of a job from its key (a number, or `k<index>` in the record form). */
const indexOf = (job: unknown): number =>
  typeof job === 'number' ? job : Number(String(job).slice(1));

async function check(runner: Runner, s: Scenario): Promise<void> {
  const retries = s.options.retries as number;
  const model = s.items.map((item) => expected(item, retries));
  let stats: CallStats | undefined;
  let trace: CallTrace | undefined;
  const settled = await run(runner, s, {
    ...s.options,
    onStats: (received) => (stats = received),
    onTrace: (received) => (trace = received),
  }).then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  expect(stats, 'onStats was called').toBeDefined();
  const counts = stats as CallStats;
  expect(counts.fulfilled + counts.rejected + counts.cancelled, 'jobs in one state each').toBe(
    counts.jobs,
  );
  expect(counts.jobs).toBe(s.items.length);
  // The trace holds one record per attempt that the stats count, each ended in order.
  expect(trace?.attempts.length, 'one trace record per attempt').toBe(counts.attempts);
  for (const a of trace?.attempts ?? []) expect(a.end).toBeGreaterThanOrEqual(a.start);
  const failing = model.flatMap((m, x) => (m.ok ? [] : [x]));
  const byIndex = <T>(values: T[]): T[] =>
    s.form === 'record'
      ? (s.items.map((item) => (values as unknown as Record<string, T>)[keyOf(item.x)]) as T[])
      : values;

  if (s.call === 'any') {
    if (model.some((m) => m.ok)) {
      expect(settled.ok, 'any() resolves when a job succeeds').toBe(true);
      const value = (settled as { value: number }).value;
      const winner = model.findIndex((m) => m.ok && m.value === value);
      expect(winner, `${value} is a successful job's value`).toBeGreaterThanOrEqual(0);
    } else {
      expect(settled.ok).toBe(false);
      const error = (settled as { error: AggregateError }).error;
      expect(error).toBeInstanceOf(AggregateError);
      expect(error.errors.map((e: { code: string }) => e.code)).toEqual(
        model.map((m) => (m.ok ? 'none' : m.code)),
      );
    }
    return;
  }

  if (s.options.policy === 'settle') {
    expect(settled.ok).toBe(true);
    const report = (settled as { value: { results: unknown; counts: unknown } }).value;
    const outcomes = byIndex(
      (s.form === 'record' ? report.results : report.results) as Array<{
        status: string;
        value?: number;
        attempts: number;
        reason?: { code: string; job: unknown };
      }>,
    );
    expect(report.counts).toEqual({
      total: s.items.length,
      fulfilled: model.filter((m) => m.ok).length,
      rejected: failing.length,
    });
    const recorded = new Map<number, number>();
    for (const a of trace?.attempts ?? []) {
      recorded.set(indexOf(a.job), (recorded.get(indexOf(a.job)) ?? 0) + 1);
    }
    outcomes.forEach((o, x) => {
      const m = model[x]!;
      expect(o.attempts, `attempts of job ${x}`).toBe(m.attempts);
      expect(recorded.get(x) ?? 0, `trace records of job ${x}`).toBe(m.attempts);
      if (m.ok) expect(o).toMatchObject({ status: 'fulfilled', value: m.value });
      else {
        expect(o.status).toBe('rejected');
        expect(o.reason?.code).toBe(m.code);
        expect(indexOf(o.reason?.job)).toBe(x);
      }
    });
    return;
  }

  // Fail-fast: every value as the model says, or the error of a job that the model says fails.
  if (failing.length === 0) {
    expect(settled.ok, 'no job fails').toBe(true);
    expect(byIndex((settled as { value: number[] }).value)).toEqual(
      model.map((m) => (m.ok ? m.value : undefined)),
    );
  } else {
    expect(settled.ok, 'a job fails').toBe(false);
    const error = (settled as { error: { code: string; job: unknown } }).error;
    const x = indexOf(error.job);
    expect(failing).toContain(x);
    const m = model[x]!;
    expect(error.code).toBe(m.ok ? 'no failure' : m.code);
  }
}

describe.each(executors)('all() and any() against the model on $name', ({ name, options }) => {
  modelTests(
    'scenarios',
    () => createRunner(options),
    (runner) => async (seed) => {
      const s = scenario(seed, name === 'threads');
      try {
        await check(runner, s);
      } catch (failure) {
        const { items, onMain, ...rest } = s;
        throw labelled(failure, seed, {
          items: items.length,
          onMain: onMain.filter(Boolean).length,
          ...rest,
        });
      }
    },
  );
});
