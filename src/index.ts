// The public API of fanout, every export by name.

export type { TaskContext } from '../workers/task-host.js';
export { builtins } from './builtins.js';
export type { AttemptRecord, JobTiming } from './call.js';
export type { Deps } from './dag.js';
export type { JobInfo, JobKey } from './errors.js';
export {
  DataCloneError,
  FanoutError,
  GraphCycleError,
  GraphUnknownDepError,
  InternalError,
  InvalidArgTypeError,
  InvalidArgValueError,
  MapConsumedError,
  QueueFullError,
  RunnerClosedError,
  TaskCancelledError,
  TaskError,
  TaskFailedError,
  TaskNotFoundError,
  TaskTimeoutError,
  WorkerExitedError,
} from './errors.js';
export type { ExecFailureKind, ExecuteOptions, Executor, Session } from './executors/types.js';
export { ExecFailure } from './executors/types.js';
export type {
  CriticalStep,
  ExplainInput,
  ExplainOptions,
  Explanation,
  IdleTime,
} from './explain.js';
export { explain, formatExplanation } from './explain.js';
export type {
  CheckedNodes,
  DepOutcomes,
  DepValues,
  FunctionNode,
  GraphNode,
  GraphNodes,
  GraphOptions,
  GraphOrder,
  GraphOutcomes,
  GraphReport,
  GraphValues,
  NodeOutcome,
  NodeOutput,
  NodeWhen,
  SkippedOutcome,
  TaskNode,
} from './graph.js';
export { MapStream } from './map.js';
export type { Policy } from './policies.js';
export type { Progress } from './progress.js';
export type { TaskRef, TaskRequest, TaskResponse } from './protocol.js';
export type { BackoffOptions, RetryOptions } from './retry.js';
export type {
  AnyOptions,
  CallOptions,
  FailFastOptions,
  Inputs,
  JobOutcome,
  JobsInput,
  MapOptions,
  RunnerOptions,
  RunOptions,
  SettledReport,
  SettleOptions,
} from './runner.js';
export { createRunner, Runner } from './runner.js';
export type { CallStats } from './stats.js';
export type {
  FunctionJob,
  FunctionJobContext,
  InputOptional,
  JobLike,
  OutputOf,
  Task,
  TaskJob,
} from './task.js';
export { defineTask, job } from './task.js';
export type { CallKind, CallTraceInit, ChromeTrace, ChromeTraceEvent } from './trace.js';
export { CallTrace } from './trace.js';
