// What a call measured, and the speedup it implies.
import type { CallRecord } from './call.js';

export interface CallStats {
  /**
   * Jobs in the call: those it read. A call that stops (fail-fast, abort) reads no more of
   * its inputs; those it never read are no jobs.
   */
  readonly jobs: number;
  /** Jobs that succeeded. */
  readonly fulfilled: number;
  /** Jobs that failed, not counting those cancelled. */
  readonly rejected: number;
  /** Jobs stopped or never started because the call stopped (ERR_TASK_CANCELLED). */
  readonly cancelled: number;
  /**
   * Attempts made, retries included. A chunk stopped while it ran (fail-fast, abort)
   * counts one for each of its items: which of them had started is not known. One given
   * up for an item that ran past its timeout counts one, that item's: the others run again.
   */
  readonly attempts: number;
  /** From the call's start to its end (ms). */
  readonly wallMs: number;
  /**
   * Task run time summed over every attempt (ms): what one thread would have spent. The
   * items of a chunk stopped while it ran share the time its thread spent on it.
   */
  readonly workMs: number;
  /** Time attempts spent waiting for a thread, summed (ms). */
  readonly queueWaitMs: number;
  /** Threads the call could use (1 for the inline executor). */
  readonly threads: number;
  /** workMs / wallMs: the speedup over running the same work one task after another. */
  readonly speedup: number;
  /**
   * speedup / threads: how much of the available parallelism was used. At most 1 for
   * work on worker threads; main-thread function jobs count the time they waited (I/O)
   * as work, and several waiting at once can take it past 1.
   */
  readonly efficiency: number;
}

export function callStats(record: CallRecord, threads: number): CallStats {
  const wallMs = record.ended - record.started;
  const speedup = wallMs > 0 ? record.workMs / wallMs : 0;
  return {
    jobs: record.jobs,
    fulfilled: record.fulfilled,
    rejected: record.rejected,
    cancelled: record.cancelled,
    attempts: record.attemptCount,
    wallMs,
    workMs: record.workMs,
    queueWaitMs: record.queueWaitMs,
    threads,
    speedup,
    efficiency: threads > 0 ? speedup / threads : 0,
  };
}
