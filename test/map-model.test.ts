// map() against a model: random scenarios (sizes, sources, chunk sizes, windows, order,
// policies, retries, items that fail for good or only at first, consumers that stop early)
// are run for real and every result is checked against what the model says each item must
// give. A seeded generator makes a failing scenario reproducible: its line names the seed.
import { describe, expect } from 'vitest';
import type { CallStats, MapOptions, Progress, Runner } from '../src/index.js';
import { executors } from './helpers/executors.js';
import { deferred } from './helpers/latches.js';
import {
  expected,
  type Item,
  items,
  itemValue,
  labelled,
  modelItem,
  modelTests,
  random,
  withTransfer,
} from './helpers/model.js';
import { trackRunners } from './helpers/runners.js';

const createRunner = trackRunners();

type Source = 'array' | 'generator' | 'async generator';
type Consumer = 'toArray' | 'for await' | 'break' | 'abort';

interface Scenario {
  readonly seed: number;
  readonly items: readonly Item[];
  readonly source: Source;
  readonly consumer: Consumer;
  /** For 'break' and 'abort': how many results the consumer takes before it stops. */
  readonly stopAfter: number;
  readonly options: MapOptions;
}

function scenario(seed: number, crashes: boolean): Scenario {
  const { next, pick } = random(seed);
  const n = pick([0, 1, 2, 7, 40, 150, 400]);
  let options: MapOptions = {
    policy: pick(['fail-fast', 'settle'] as const),
    ordered: pick([true, false]),
    retries: pick([0, 1, 2]),
    chunkSize: pick(['auto', 'auto', 1, 3, 16] as const),
    ...(next() < 0.5 ? { window: pick([1, 2, 5, 32, 256]) } : {}),
    ...(next() < 0.25 ? { concurrency: pick([1, 2, 3]) } : {}),
  };
  const moved = withTransfer(next, items(next, n, crashes));
  if (moved.transfer) options = { ...options, transfer: true };
  return {
    seed,
    items: moved.items,
    source: pick(['array', 'generator', 'async generator'] as const),
    consumer: pick(['toArray', 'for await', 'break', 'abort'] as const),
    stopAfter: Math.floor(next() * (n + 1)),
    options,
  };
}

function source(s: Scenario): Iterable<Item> | AsyncIterable<Item> {
  const { items } = s;
  switch (s.source) {
    case 'array':
      return items;
    case 'generator':
      return (function* () {
        yield* items;
      })();
    case 'async generator':
      return (async function* () {
        for (const item of items) {
          if (item.x % 7 === 0) await Promise.resolve();
          yield item;
        }
      })();
  }
}

interface Consumed {
  readonly taken: unknown[];
  readonly error: unknown;
  readonly stopped: boolean;
  /** What onStats received, once the call has ended (it ends after an early stop too). */
  readonly stats: Promise<CallStats>;
  /** Every report onProgress received, the last one at the end. */
  readonly progress: Progress[];
}

async function consume(runner: Runner, s: Scenario): Promise<Consumed> {
  const abort = new AbortController();
  const reason = new Error(`scenario ${s.seed} aborted`);
  const stats = deferred<CallStats>();
  const progress: Progress[] = [];
  let statsCalls = 0;
  const options: MapOptions = {
    ...s.options,
    ...(s.consumer === 'abort' ? { signal: abort.signal } : {}),
    onStats: (received) => {
      if (++statsCalls > 1) stats.reject(new Error('onStats was called twice'));
      stats.resolve(received);
    },
    onProgress: (p) => {
      progress.push(p);
    },
  };
  const ended = { stats: stats.promise, progress };
  const stream: AsyncIterable<unknown> & { toArray(): Promise<unknown[]> } =
    options.policy === 'settle'
      ? runner.map(modelItem, source(s), { ...options, policy: 'settle' })
      : runner.map(modelItem, source(s), { ...options, policy: 'fail-fast' });
  const taken: unknown[] = [];
  try {
    if (s.consumer === 'toArray') {
      taken.push(...(await stream.toArray()));
    } else {
      for await (const result of stream) {
        if (taken.length >= s.stopAfter) {
          if (s.consumer === 'break') return { taken, error: undefined, stopped: true, ...ended };
          if (s.consumer === 'abort') abort.abort(reason);
        }
        taken.push(result);
      }
    }
    return { taken, error: undefined, stopped: false, ...ended };
  } catch (error) {
    // An aborted stream ends with the signal's reason; what it gave before must be right.
    const stopped = error === reason;
    return { taken, error: stopped ? undefined : error, stopped, ...ended };
  }
}

/** Every job ends in exactly one state, and the counts agree with the model and progress. */
async function checkCounts(s: Scenario, outcome: Consumed): Promise<void> {
  const stats = await outcome.stats;
  const retries = s.options.retries as number;
  const model = s.items.map((item) => expected(item, retries));
  expect(stats.fulfilled + stats.rejected + stats.cancelled, 'jobs in one state each').toBe(
    stats.jobs,
  );
  expect(stats.jobs).toBeLessThanOrEqual(s.items.length);
  const complete = !outcome.stopped && outcome.error === undefined;
  if (complete) {
    expect(stats.jobs, 'every input read').toBe(s.items.length);
    expect(stats.cancelled).toBe(0);
    expect(stats.fulfilled).toBe(model.filter((m) => m.ok).length);
    expect(stats.rejected).toBe(model.filter((m) => !m.ok).length);
  }
  const last = outcome.progress.at(-1);
  expect(last, 'a final progress report').toBeDefined();
  expect(last?.done).toBe(stats.fulfilled);
  expect(last?.failed).toBe(stats.rejected + stats.cancelled);
  expect(last?.inFlight).toBe(0);
  expect(last?.total).toBe(s.source === 'array' ? s.items.length : undefined);
}

function check(s: Scenario, outcome: Consumed): void {
  const retries = s.options.retries as number;
  const model = s.items.map((item) => expected(item, retries));
  const ordered = s.options.ordered !== false;
  const { taken, error, stopped } = outcome;
  if (s.options.policy === 'settle') {
    expect(error).toBeUndefined();
    const outcomes = taken as Array<{
      status: string;
      job: number;
      value?: number;
      attempts: number;
      reason?: { job: number; code: string };
    }>;
    const jobs = outcomes.map((o) => o.job);
    expect(new Set(jobs).size).toBe(jobs.length); // no job twice
    if (ordered) expect(jobs).toEqual(jobs.map((_, i) => i)); // a prefix, in input order
    if (!stopped) expect(jobs.length).toBe(s.items.length); // every job, when read to the end
    for (const o of outcomes) {
      const m = model[o.job]!;
      expect(o.attempts, `attempts of job ${o.job}`).toBe(m.attempts);
      if (m.ok) {
        expect(o.status).toBe('fulfilled');
        expect(o.value).toBe(m.value);
      } else {
        expect(o.status).toBe('rejected');
        expect(o.reason?.job).toBe(o.job);
        expect(o.reason?.code).toBe(m.code);
      }
    }
    return;
  }
  // Fail-fast: values only, each one right; the stream ends with the error of an item the
  // model says fails, or, when none fails and it is read to the end, with every value.
  const values = taken as number[];
  const byValue = new Map(model.flatMap((m, x) => (m.ok ? [[m.value, x] as const] : [])));
  for (const v of values) expect(byValue.has(v), `${v} is no item's value`).toBe(true);
  expect(new Set(values).size).toBe(values.length);
  if (ordered) {
    // A prefix of the input, with no failing item inside it.
    values.forEach((v, i) => {
      expect(byValue.get(v), `result ${i}`).toBe(i);
    });
  }
  const failing = model.flatMap((m, x) => (m.ok ? [] : [x]));
  if (error !== undefined) {
    const e = error as { code?: string; job?: number };
    expect(failing).toContain(e.job);
    const m = model[e.job as number]!;
    expect(e.code).toBe(m.ok ? 'no failure' : m.code);
    if (ordered) expect(values.length).toBeLessThanOrEqual(e.job as number);
  } else if (!stopped) {
    expect(failing).toEqual([]);
    const all = model.map((m) => (m.ok ? m.value : undefined));
    expect(ordered ? values : [...values].sort((a, b) => a - b)).toEqual(
      ordered ? all : [...(all as number[])].sort((a, b) => a - b),
    );
  }
}

describe.each(executors)('map against the model on $name', ({ name, options }) => {
  modelTests(
    'scenarios',
    () => createRunner(options),
    (runner) => async (seed) => {
      const s = scenario(seed, name === 'threads');
      const outcome = await consume(runner, s);
      try {
        check(s, outcome);
        await checkCounts(s, outcome);
        // Whatever the scenario did, the runner is free afterwards: every thread takes work.
        await expect(
          runner.all(
            modelItem,
            Array.from({ length: 4 }, (_, x) => ({ x, fail: false, succeedOn: 1, exit: false })),
          ),
        ).resolves.toEqual([0, 1, 2, 3].map((x) => itemValue(x, 1)));
      } catch (failure) {
        const { items, ...rest } = s;
        throw labelled(failure, seed, { items: items.length, ...rest });
      }
    },
  );
});
