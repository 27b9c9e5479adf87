// runner.graph(): nodes that need each other's results. Each node runs as its own engine
// call the moment its dependencies are done; when more nodes are ready than there are
// threads, those with the most work still ahead of them go first (critical-path list
// scheduling). A failed node stops the graph (fail-fast) or skips its dependents (settle).
import { setMaxListeners } from 'node:events';
import {
  arraySource,
  type CallConfig,
  type CallEnv,
  type CallRecord,
  type JobSpec,
  type Outcome,
  startCall,
} from './call.js';
import { type Deps, dependentsOf, pathAhead, topologicalOrder } from './dag.js';
import {
  invalidType,
  invalidValue,
  RunnerClosedError,
  type TaskError,
  TaskFailedError,
} from './errors.js';
import { Heap } from './heap.js';
import { functionOption, knownKeys, numberOption, oneOf } from './options.js';
import type { Policy } from './policies.js';
import { deserializeError, now, serializeError } from './protocol.js';
import type { RunOptions } from './runner.js';
import type { CallStats } from './stats.js';
import { type FunctionJobContext, isTask, type Task } from './task.js';

/** A node's dependencies' results, by name: what a node run when they all fulfilled gets. */
export type DepValues = Readonly<Record<string, unknown>>;

/** A node's dependencies' outcomes, by name: what a `when: 'all-done'` node gets. */
export type DepOutcomes = Readonly<Record<string, NodeOutcome>>;

/** A node that did not run because a dependency failed or was itself skipped. */
export interface SkippedOutcome {
  readonly status: 'skipped';
  /** The dependency that did not fulfil. */
  readonly dependency: string;
  /** The failed node the skip goes back to (`dependency` itself when it failed). */
  readonly failed: string;
  /** The same in words: `dependency "b" was skipped because "a" failed`. */
  readonly reason: string;
}

/** How one node ended: fulfilled or rejected (like a job of `all`), or skipped. */
export type NodeOutcome<T = unknown> = Outcome<T> | SkippedOutcome;

/**
 * When a node runs: `'all-fulfilled'` once every dependency fulfilled (it gets their
 * values; if one fails or is skipped, the node is skipped); `'all-done'` once every
 * dependency has ended, however (it gets their outcomes).
 */
export type NodeWhen = 'all-fulfilled' | 'all-done';

export const NODE_WHEN: readonly NodeWhen[] = ['all-fulfilled', 'all-done'];

interface NodeCommon {
  /** Names of the nodes whose results this node needs. @default [] */
  readonly deps?: readonly string[];
  /**
   * What the node costs compared with the others, in any unit (only ratios matter): ready
   * nodes with the most cost still ahead of them on their path get threads first.
   * @default 1
   */
  readonly cost?: number;
}

interface WhenFulfilled {
  /** When the node runs; see {@link NodeWhen}. @default 'all-fulfilled' */
  readonly when?: 'all-fulfilled';
}

interface WhenDone {
  /** When the node runs; see {@link NodeWhen}. @default 'all-fulfilled' */
  readonly when: 'all-done';
}

// Inputs cross to a worker by structured clone, so an input is never a function itself:
// a function there is always "compute the input from the dependencies". Spelling the
// other values out (not `unknown`) keeps that function's parameter contextually typed;
// `CheckedNodes` then checks the input against the task.
type Value = object | string | number | bigint | boolean | null | undefined;

interface TaskPart<D> {
  /** The worker task to run, made by `defineTask()`. */
  readonly task: Task;
  /**
   * The task's input, or a function of the dependencies that returns it, called on the
   * main thread just before the node starts. Left out, the task gets `undefined`.
   */
  readonly input?: ((deps: D) => unknown) | Value;
}

interface RunPart<Out, D> {
  /** Runs on the main thread with the dependencies and `{ signal, attempt }`. */
  readonly run: (deps: D, ctx: FunctionJobContext) => Out | Promise<Out>;
}

/** A node that runs a worker task. */
export type TaskNode = NodeCommon &
  ((WhenFulfilled & TaskPart<DepValues>) | (WhenDone & TaskPart<DepOutcomes>));

/** A node that runs an (async) function on the main thread, for I/O or light work. */
export type FunctionNode<Out = unknown> = NodeCommon &
  ((WhenFulfilled & RunPart<Out, DepValues>) | (WhenDone & RunPart<Out, DepOutcomes>));

/** One node of a graph: a worker task with its input, or a main-thread function. */
export type GraphNode = TaskNode | FunctionNode;

/** What `runner.graph()` takes: nodes by name. */
export type GraphNodes = Readonly<Record<string, GraphNode>>;

/** Checks each task node's input (or what its input function returns) against the task. */
export type CheckedNodes<N> = {
  readonly [K in keyof N]: N[K] extends { readonly task: Task<infer In, unknown> }
    ? { readonly input?: In | ((deps: never) => In) }
    : unknown;
};

/** The result type of one node. */
export type NodeOutput<N> = N extends { readonly task: Task<infer _In, infer Out> }
  ? Out
  : N extends { readonly run: (...args: never[]) => infer R }
    ? Awaited<R>
    : never;

/** What a fail-fast graph resolves with: each node's result, by name. */
export type GraphValues<N> = { -readonly [K in keyof N]: NodeOutput<N[K]> };

/** Each node's outcome, by name. */
export type GraphOutcomes<N> = { -readonly [K in keyof N]: NodeOutcome<NodeOutput<N[K]>> };

/**
 * Which ready node gets a free thread first: `'critical-path'` the one with the most cost
 * ahead of it (itself and its heaviest chain of dependents), `'fifo'` the one ready first.
 */
export type GraphOrder = 'critical-path' | 'fifo';

export const GRAPH_ORDERS: readonly GraphOrder[] = ['critical-path', 'fifo'];

export interface GraphOptions extends RunOptions {
  /**
   * `'fail-fast'`: the first failure (after its retries) rejects the call with its
   * TaskError; running nodes are stopped and the rest never start. `'settle'`: every node
   * that can run, runs; the call resolves with a report, and a failed node's dependents
   * are skipped.
   * @default 'fail-fast'
   */
  readonly policy?: Policy;
  /** Most nodes of this graph running at once, main-thread nodes included. @default Infinity */
  readonly concurrency?: number;
  /**
   * Which ready node goes first when more are ready than there are free threads (or
   * room under `concurrency`). Ties go to the node ready first, then declared first.
   * @default 'critical-path'
   */
  readonly order?: GraphOrder;
}

/** What `graph(..., { policy: 'settle' })` resolves with. */
export interface GraphReport<R> {
  /** Every node's outcome, by name. */
  readonly results: R;
  readonly counts: {
    readonly total: number;
    readonly fulfilled: number;
    readonly rejected: number;
    readonly skipped: number;
  };
  /** What the nodes that ran measured; skipped nodes never became jobs. */
  readonly stats: CallStats;
}

/** A node as validated: exactly one of `task` and `run`. */
export interface PlannedNode {
  readonly name: string;
  readonly deps: readonly string[];
  readonly cost: number;
  readonly when: NodeWhen;
  readonly task: Task | undefined;
  readonly input: unknown;
  readonly run: ((deps: unknown, ctx: FunctionJobContext) => unknown) | undefined;
}

/** A graph checked and ready to run. */
export interface GraphPlan {
  /** The nodes, in declaration order. */
  readonly nodes: ReadonlyMap<string, PlannedNode>;
  readonly deps: Deps;
  /** Each node after its dependencies. */
  readonly order: readonly string[];
}

const TASK_NODE_KEYS = ['task', 'input', 'deps', 'cost', 'when'];
const FUNCTION_NODE_KEYS = ['run', 'deps', 'cost', 'when'];

function isRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function parseNode(name: string, value: unknown): PlannedNode {
  const where = `nodes.${name}`;
  if (!isRecord(value)) {
    throw invalidType(where, 'a node: { task, input } or { run }, with optional deps', value);
  }
  const hasTask = value.task !== undefined;
  const hasRun = value.run !== undefined;
  if (hasTask === hasRun) {
    throw invalidType(where, 'a node with either `task` (and `input`) or `run`', value);
  }
  knownKeys(where, value, hasTask ? TASK_NODE_KEYS : FUNCTION_NODE_KEYS);
  if (hasTask && !isTask(value.task)) {
    throw invalidType(`${where}.task`, 'a task made by defineTask()', value.task);
  }
  const deps = value.deps ?? [];
  if (!Array.isArray(deps)) throw invalidType(`${where}.deps`, 'an array of node names', deps);
  const seen = new Set<string>();
  deps.forEach((dep: unknown, i) => {
    if (typeof dep !== 'string') throw invalidType(`${where}.deps[${i}]`, 'a node name', dep);
    if (seen.has(dep)) throw invalidValue(`${where}.deps`, 'distinct node names', dep);
    seen.add(dep);
  });
  let cost = 1;
  if (value.cost !== undefined) {
    cost = numberOption(`${where}.cost`, value.cost, 0);
    if (!Number.isFinite(cost)) {
      throw invalidValue(`${where}.cost`, 'a finite number from 0 and up', cost);
    }
  }
  return {
    name,
    deps: deps as string[],
    cost,
    when:
      value.when === undefined ? 'all-fulfilled' : oneOf(`${where}.when`, value.when, NODE_WHEN),
    task: hasTask ? (value.task as Task) : undefined,
    input: value.input,
    run: hasRun ? functionOption(`${where}.run`, value.run) : undefined,
  };
}

/**
 * Checks a graph before anything runs: each node's shape (TypeError / RangeError naming
 * it), then unknown dependencies (ERR_GRAPH_UNKNOWN_DEP) and cycles (ERR_GRAPH_CYCLE).
 */
export function parseGraph(value: unknown): GraphPlan {
  if (!isRecord(value)) throw invalidType('nodes', 'a record of nodes (a plain object)', value);
  const nodes = new Map<string, PlannedNode>();
  const deps = new Map<string, readonly string[]>();
  for (const name of Object.keys(value)) {
    const node = parseNode(name, value[name]);
    nodes.set(name, node);
    deps.set(name, node.deps);
  }
  return { nodes, deps, order: topologicalOrder(deps) };
}

export interface GraphConfig {
  readonly policy: Policy;
  readonly order: GraphOrder;
  readonly concurrency: number;
  readonly signal: AbortSignal | undefined;
  /** Each node's engine call: retries, timeout, attempt records, task progress. */
  readonly call: CallConfig;
  /** A node ended (skipped ones too), with the nodes still running. */
  readonly onNodeEnd: ((fulfilled: boolean, running: number) => void) | undefined;
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
  const ready = new Heap<Ready>(readyFirst);
  const calls: Promise<CallRecord>[] = [];
  let seq = 0;
  let running = 0;
  let starting = 0;
  let inputFailures = 0;
  let finished = false;
  let failure: TaskError | undefined;
  let aborted: { reason: unknown } | undefined;
  let resolveRun: (run: GraphRun) => void = () => {};

  // Every node call listens to `stop`: aborting it stops the graph, whatever the cause.
  const stop = new AbortController();
  setMaxListeners(0, stop.signal);
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

  const depsOf = (node: PlannedNode): Record<string, unknown> => {
    const given: Record<string, unknown> = {};
    for (const dep of node.deps) {
      const outcome = outcomes.get(dep)!;
      given[dep] =
        node.when === 'all-done' ? outcome : (outcome as { readonly value: unknown }).value;
    }
    return given;
  };

  const inputFailed = (node: PlannedNode, error: unknown): Outcome => ({
    status: 'rejected',
    reason: new TaskFailedError(
      { job: node.name, task: node.task, attempts: 0 },
      deserializeError(serializeError(error)),
    ),
    attempts: 0,
    timing: { queued: undefined, ended: now(), runMs: 0, waitMs: 0 },
  });

  const start = (node: PlannedNode) => {
    running++;
    const deps = depsOf(node);
    let spec: JobSpec;
    if (node.run) {
      const run = node.run;
      spec = { key: node.name, fn: (ctx) => run(deps, ctx) };
    } else {
      let input = node.input;
      if (typeof input === 'function') {
        try {
          input = input(deps);
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
      signal: stop.signal,
      priority: rank?.get(node.name) ?? 0,
    };
    // The sink runs before the call's thread is released, so the dependents it makes
    // ready compete by rank for that thread with nodes already waiting.
    starting++;
    const handle = startCall(arraySource([spec]), callConfig, env, (_, outcome) =>
      nodeEnded(node, outcome),
    );
    calls.push(handle.done);
    starting--;
  };

  function pump(): void {
    if (finished) return;
    while (!stop.signal.aborted && running < config.concurrency && ready.size > 0) {
      start(ready.pop()!.node);
    }
    // A call that ends while it is being started has not been counted in `calls` yet.
    if (starting === 0 && running === 0 && (stop.signal.aborted || outcomes.size === nodes.size)) {
      finish();
    }
  }

  const finish = () => {
    finished = true;
    config.signal?.removeEventListener('abort', onSignal);
    env.destroyed.removeEventListener('abort', onDestroyed);
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
    });
  };

  const done = new Promise<GraphRun>((resolve) => {
    resolveRun = resolve;
  });
  config.signal?.addEventListener('abort', onSignal, { once: true });
  env.destroyed.addEventListener('abort', onDestroyed, { once: true });
  if (config.signal?.aborted) onSignal();
  else if (env.destroyed.aborted) onDestroyed();
  else {
    for (const node of nodes.values()) {
      if (node.deps.length === 0) ready.push({ node, rank: rank?.get(node.name) ?? 0, seq: seq++ });
    }
  }
  pump();
  return done;
}
