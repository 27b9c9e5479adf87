// Running a checked graph: each node runs as its own engine call the moment its
// dependencies are done; when more nodes are ready than there are threads, those with the
// most cost still ahead of them go first (critical-path list scheduling). A failed node
// stops the graph (fail-fast) or skips its dependents (settle).
import { setMaxListeners } from 'node:events';
import { onAborts } from './abort.js';
import {
  arraySource,
  type CallConfig,
  type CallEnv,
  type CallHandle,
  type CallRecord,
  type JobSpec,
  type Outcome,
  startCall,
} from './call.js';
import { timed } from './callbacks.js';
import { dependentsOf, pathAhead } from './dag.js';
import { RunnerClosedError, type TaskError, TaskFailedError } from './errors.js';
import type {
  GraphOrder,
  GraphPlan,
  GraphReport,
  NodeOutcome,
  PlannedNode,
  SkippedOutcome,
} from './graph.js';
import { Heap } from './heap.js';
import type { Policy } from './policies.js';
import { deserializeError, now, serializeError, stackless } from './protocol.js';
import { callStats } from './stats.js';

export interface GraphConfig {
  readonly policy: Policy;
  readonly order: GraphOrder;
  readonly concurrency: number;
  readonly signal: AbortSignal | undefined;
  /** Each node's engine call: retries, timeout, attempt records, task progress. */
  readonly call: CallConfig;
  /**
   * A node ended (skipped ones too), with the nodes still running; at the end, once for
   * the `count` nodes a stopped graph never started (they end cancelled).
   */
  readonly onNodeEnd: ((fulfilled: boolean, running: number, count?: number) => void) | undefined;
}

/** What a graph did. */
export interface GraphRun {
  /** Each node that ended, by name (under settle, every node unless aborted). */
  readonly outcomes: ReadonlyMap<string, NodeOutcome>;
  /** The node calls' records added up; `attempts` in order of start. */
  readonly record: CallRecord;
  /** The failure that stopped a fail-fast graph. */
  readonly failure: TaskError | undefined;
}

function skippedBy(dependency: string, outcome: NodeOutcome): SkippedOutcome {
  if (outcome.status === 'skipped') {
    return {
      status: 'skipped',
      dependency,
      failed: outcome.failed,
      reason: `dependency "${dependency}" was skipped because "${outcome.failed}" failed`,
    };
  }
  return {
    status: 'skipped',
    dependency,
    failed: dependency,
    reason: `dependency "${dependency}" failed`,
  };
}

interface Ready {
  readonly node: PlannedNode;
  readonly rank: number;
  /** The order in which nodes became ready (declaration order among those at once). */
  readonly seq: number;
}

const readyFirst = (a: Ready, b: Ready) => (a.rank !== b.rank ? a.rank > b.rank : a.seq < b.seq);

/**
 * Task nodes started (each a call of its own, waiting for a thread or running) at most this
 * many per thread: starting every ready one at once cost 100-200 µs of main thread a node
 * (20,000 independent nodes blocked the event loop for 1.2-1.6 s), and stopping them all
 * again as much. The others wait in rank order; function nodes need no thread and start
 * at once.
 */
const TASK_NODES_PER_THREAD = 2;

/** Runs a checked graph. Never rejects: what happened is in the outcomes and the record. */
export function runGraph(plan: GraphPlan, config: GraphConfig, env: CallEnv): Promise<GraphRun> {
  const started = now();
  const { nodes } = plan;
  const dependents = dependentsOf(plan.deps);
  const rank =
    config.order === 'critical-path'
      ? pathAhead(plan.deps, plan.order, (name) => nodes.get(name)!.cost)
      : undefined;
  const waitingFor = new Map<string, number>();
  for (const node of nodes.values()) waitingFor.set(node.name, node.deps.length);
  const outcomes = new Map<string, NodeOutcome>();
  // Ready nodes, by rank: those of a task apart, since only so many of them start at once.
  const ready = {
    tasks: new Heap<Ready>(readyFirst),
    functions: new Heap<Ready>(readyFirst),
    push(entry: Ready) {
      (entry.node.run ? this.functions : this.tasks).push(entry);
    },
  };
  const taskNodesAtOnce = TASK_NODES_PER_THREAD * env.executor.parallelism;
  let taskNodes = 0;
  const calls: Promise<CallRecord>[] = [];
  let seq = 0;
  let running = 0;
  let starting = 0;
  let inputFailures = 0;
  let finished = false;
  let failure: TaskError | undefined;
  let aborted: { reason: unknown } | undefined;
  let resolveRun: (run: GraphRun) => void = () => {};
  let rejectRun: (error: unknown) => void = () => {};
  /** A node's call failed as a whole (ERR_INTERNAL): the graph stops and fails with it. */
  let broken = false;

  // Aborting `stop` stops the graph, whatever the cause: it stops every node call under
  // way (listening once here, not once per call: see CallEnv.destroyed).
  const stop = new AbortController();
  setMaxListeners(0, stop.signal);
  const live = new Map<string, CallHandle>();
  stop.signal.addEventListener(
    'abort',
    () => {
      for (const handle of live.values()) handle.cancel(stop.signal.reason, 'the call was aborted');
    },
    { once: true },
  );
  const nodeEnv: CallEnv = { ...env, destroyed: undefined };
  const abortWith = (reason: unknown) => {
    if (stop.signal.aborted) return;
    aborted = { reason };
    stop.abort(reason);
    pump();
  };
  const onSignal = () => abortWith(config.signal?.reason);
  const onDestroyed = () =>
    abortWith(new RunnerClosedError('The runner was destroyed while the call ran'));

  /** Records a node's end and passes it on to its dependents, skipping those it must. */
  const end = (name: string, outcome: NodeOutcome) => {
    const ended: [string, NodeOutcome][] = [[name, outcome]];
    outcomes.set(name, outcome);
    // A worklist, not recursion: a skip can run down a chain of any length.
    for (let next = ended.pop(); next; next = ended.pop()) {
      const [from, result] = next;
      config.onNodeEnd?.(result.status === 'fulfilled', running);
      for (const dependent of dependents.get(from)!) {
        if (outcomes.has(dependent)) continue;
        const node = nodes.get(dependent)!;
        if (result.status !== 'fulfilled' && node.when === 'all-fulfilled') {
          const skipped = skippedBy(from, result);
          outcomes.set(dependent, skipped);
          ended.push([dependent, skipped]);
          continue;
        }
        const left = waitingFor.get(dependent)! - 1;
        waitingFor.set(dependent, left);
        if (left === 0) ready.push({ node, rank: rank?.get(dependent) ?? 0, seq: seq++ });
      }
    }
  };

  const nodeEnded = (node: PlannedNode, outcome: Outcome) => {
    running--;
    if (!node.run) taskNodes--;
    live.delete(node.name);
    if (
      outcome.status === 'rejected' &&
      config.policy === 'fail-fast' &&
      !stop.signal.aborted &&
      failure === undefined
    ) {
      failure = outcome.reason;
      stop.abort(outcome.reason);
    }
    end(node.name, outcome);
    pump();
  };

  // (Keys defined, not set: a node named `__proto__` is a key like any other.)
  const depsOf = (node: PlannedNode): Record<string, unknown> =>
    Object.fromEntries(
      node.deps.map((dep) => {
        const outcome = outcomes.get(dep)!;
        return [
          dep,
          node.when === 'all-done' ? outcome : (outcome as { readonly value: unknown }).value,
        ];
      }),
    );

  const inputFailed = (node: PlannedNode, error: unknown): Outcome => {
    // (Read outside stackless: reading the error may run the caller's code, a getter.)
    const cause = deserializeError(serializeError(error));
    const where = { job: node.name, task: node.task, attempts: 0 };
    return {
      status: 'rejected',
      reason: stackless(() => new TaskFailedError(where, cause)),
      job: node.name,
      attempts: 0,
      timing: { queued: undefined, ended: now(), runMs: 0, waitMs: 0 },
    };
  };

  const start = (node: PlannedNode) => {
    running++;
    if (!node.run) {
      taskNodes++;
      begun = true;
    }
    const deps = depsOf(node);
    let spec: JobSpec;
    if (node.run) {
      const run = node.run;
      spec = { key: node.name, fn: (ctx) => run(deps, ctx) };
    } else {
      let input = node.input;
      if (typeof input === 'function') {
        try {
          input = timed(() => (input as (deps: unknown) => unknown)(deps));
          if (typeof (input as PromiseLike<unknown> | null)?.then === 'function') {
            // (Its rejection, if any, is this failure's: never an unhandled one.)
            Promise.resolve(input).catch(() => {});
            throw new TypeError(
              'its input function returned a promise: an input is sent to a worker as it is, and a promise cannot be (do the asynchronous work in a `run` node, and depend on it)',
            );
          }
        } catch (error) {
          inputFailures++;
          nodeEnded(node, inputFailed(node, error));
          return;
        }
      }
      spec = { key: node.name, task: node.task!, input };
    }
    const callConfig: CallConfig = {
      ...config.call,
      policy: 'settle',
      signal: undefined,
      // Ranked nodes go before other calls' jobs, whose priority is 0: a node of rank 0 (a
      // last node of cost 0) too.
      priority: rank === undefined ? 0 : Math.max(rank.get(node.name) ?? 0, Number.MIN_VALUE),
    };
    // The sink runs before the call's thread is released, so the dependents it makes
    // ready compete by rank for that thread with nodes already waiting.
    starting++;
    const handle = startCall(arraySource([spec]), callConfig, nodeEnv, (_, outcome) =>
      nodeEnded(node, outcome),
    );
    // (Unless it ended as it started; stopped at once if the graph stopped meanwhile, as
    // a function of the node may do as it starts.)
    if (!outcomes.has(node.name)) {
      live.set(node.name, handle);
      if (stop.signal.aborted) handle.cancel(stop.signal.reason, 'the call was aborted');
    }
    calls.push(handle.done);
    handle.done.catch(() => {
      broken = true;
      stop.abort();
      pump();
    });
    starting--;
  };

  // A node can end while it starts (an input function or a main-thread function that
  // throws at once, a call stopped before it began): pump() is then called from inside
  // itself, and would recurse once per node of a chain (a stack overflow at a few thousand
  // nodes). Such a call returns at once; the loop already under way starts what it made
  // ready.
  let pumping = false;
  // Once a task node of it has started, a task node starts only when the runner's queue has
  // room (`maxQueue`): the graph holds its ready nodes back itself, so it waits for room, as
  // a map does, rather than shed them (a chain's next node, made ready while the node before
  // still holds its thread, would be). Its first is shed if the queue is full of other
  // calls' jobs, as a job of all() would be.
  let begun = false;
  function pump(): void {
    if (finished || pumping) return;
    pumping = true;
    try {
      while (!stop.signal.aborted && running < config.concurrency) {
        const fn = ready.functions.peek();
        const task =
          taskNodes < taskNodesAtOnce &&
          ready.tasks.size > 0 &&
          (!begun || env.dispatcher.roomFor(pump))
            ? ready.tasks.peek()
            : undefined;
        if (!fn && !task) break;
        const first = fn && (!task || readyFirst(fn, task)) ? ready.functions : ready.tasks;
        start(first.pop()!.node);
      }
    } finally {
      pumping = false;
    }
    // A call that ends while it is being started has not been counted in `calls` yet.
    // (A node whose call failed as a whole never ends: the graph does not wait for it.)
    const idle = starting === 0 && (running === 0 || broken);
    if (idle && (stop.signal.aborted || outcomes.size === nodes.size)) {
      finish();
    }
  }

  const finish = () => {
    finished = true;
    // (Nodes still running, when a node's call failed as a whole, are counted as they end.)
    const neverStarted = nodes.size - outcomes.size - running;
    if (neverStarted > 0) config.onNodeEnd?.(false, 0, neverStarted);
    unhear();
    void Promise.all(calls).then((records) => {
      const sum = (of: (r: CallRecord) => number) => records.reduce((n, r) => n + of(r), 0);
      const attempts = config.call.keepAttempts
        ? records.flatMap((r) => r.attempts ?? []).sort((a, b) => a.start - b.start)
        : undefined;
      resolveRun({
        outcomes,
        failure,
        record: {
          started,
          ended: now(),
          jobs: records.length + inputFailures,
          fulfilled: sum((r) => r.fulfilled),
          rejected: sum((r) => r.rejected) + inputFailures,
          cancelled: sum((r) => r.cancelled),
          attemptCount: sum((r) => r.attemptCount),
          workMs: sum((r) => r.workMs),
          queueWaitMs: sum((r) => r.queueWaitMs),
          attempts,
          stoppedBy: undefined,
          aborted,
          sourceError: undefined,
        },
      });
    }, rejectRun);
  };

  const done = new Promise<GraphRun>((resolve, reject) => {
    resolveRun = resolve;
    rejectRun = reject;
  });
  const unhear = onAborts(config.signal, onSignal, env.destroyed, onDestroyed);
  if (config.signal?.aborted) onSignal();
  else if (env.destroyed?.aborted) onDestroyed();
  else {
    for (const node of nodes.values()) {
      if (node.deps.length === 0) ready.push({ node, rank: rank?.get(node.name) ?? 0, seq: seq++ });
    }
  }
  pump();
  return done;
}

/**
 * What the call resolves with: each node's value (fail-fast), or the settle report. Throws
 * the abort reason of an aborted graph, and a fail-fast graph's first failure.
 */
export function graphResult(
  plan: GraphPlan,
  policy: Policy,
  { outcomes, record, failure }: GraphRun,
  threads: number,
): Record<string, unknown> | GraphReport<Record<string, NodeOutcome>> {
  if (record.aborted) throw record.aborted.reason;
  const names = [...plan.nodes.keys()];
  if (policy === 'fail-fast') {
    if (failure) throw failure;
    return Object.fromEntries(
      names.map((name) => [name, (outcomes.get(name) as { value: unknown }).value]),
    );
  }
  const counts = { total: names.length, fulfilled: 0, rejected: 0, skipped: 0 };
  for (const name of names) counts[outcomes.get(name)!.status]++;
  const results: Record<string, NodeOutcome> = Object.fromEntries(
    names.map((name) => [name, outcomes.get(name)!]),
  );
  return { results, counts, stats: callStats(record, threads) };
}
