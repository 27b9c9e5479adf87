// What a call does with each job's outcome. Pure logic, tested without threads.

/**
 * - `fail-fast`: the first failure (after its retries) stops the call and rejects it.
 * - `settle`: every job runs to its end; the call resolves with a report.
 */
export type Policy = 'fail-fast' | 'settle';

/** The policies a call can run under; `any` is the policy of `runner.any()`. */
export type CallPolicy = Policy | 'any';

export const POLICIES: readonly Policy[] = ['fail-fast', 'settle'];

/** Whether a job that ended this way stops the rest of its call. */
export function stopsCall(policy: CallPolicy, status: 'fulfilled' | 'rejected'): boolean {
  switch (policy) {
    case 'fail-fast':
      return status === 'rejected';
    case 'any':
      return status === 'fulfilled';
    case 'settle':
      return false;
  }
}

/** Why the jobs still running were stopped, for their ERR_TASK_CANCELLED message. */
export function stopReason(policy: CallPolicy, by: string): string {
  return policy === 'any' ? `${by} fulfilled first` : `${by} failed and the call fails fast`;
}
