// Retries are per job attempt: which failures are retried, and how long to wait first.
import type { TaskError } from './errors.js';
import { functionOption, integerOption, knownKeys, numberOption, objectOption } from './options.js';

/** Waits between the attempts of a job (`retries.backoff`). */
export interface BackoffOptions {
  /** Wait before the first retry, in ms. @default 0 */
  readonly initial?: number | undefined;
  /** Each further retry waits this many times longer. @default 2 */
  readonly factor?: number | undefined;
  /** The longest wait, in ms. @default 30000 */
  readonly max?: number | undefined;
}

/** `retries` as an object: how many, how long to wait, which failures. */
export interface RetryOptions {
  /** How many times a failed job is tried again (`2` means up to 3 attempts in all). */
  readonly attempts: number;
  /** Waits between attempts; none by default, since CPU-bound failures rarely pass with time. */
  readonly backoff?: BackoffOptions | undefined;
  /**
   * Whether a failure is worth another attempt. By default every failure is, except
   * ERR_TASK_NOT_FOUND, ERR_DATA_CLONE and ERR_QUEUE_FULL (trying again cannot help).
   * Cancelled jobs are never retried. If it throws, nothing more is retried (the job ends
   * with its failure) and the call fails with what it threw once it ends, as it does when
   * `onProgress` throws.
   */
  readonly retryOn?: ((error: TaskError, attempt: number) => boolean) | undefined;
}

export interface RetryPolicy {
  readonly retries: number;
  readonly initial: number;
  readonly factor: number;
  readonly max: number;
  readonly retryOn: (error: TaskError, attempt: number) => boolean;
}

const NEVER_RETRIED = new Set(['ERR_TASK_NOT_FOUND', 'ERR_DATA_CLONE', 'ERR_QUEUE_FULL']);

const defaultRetryOn = (error: TaskError) => !NEVER_RETRIED.has(error.code);

export const NO_RETRY: RetryPolicy = {
  retries: 0,
  initial: 0,
  factor: 2,
  max: 30_000,
  retryOn: defaultRetryOn,
};

export function retryPolicy(value: number | RetryOptions | undefined): RetryPolicy {
  if (value === undefined) return NO_RETRY;
  if (typeof value === 'number') {
    return { ...NO_RETRY, retries: integerOption('retries', value, 0) };
  }
  const options = objectOption(
    'retries',
    value,
    'an integer from 0 and up, or an object { attempts, backoff, retryOn }',
  );
  knownKeys('retries', options, ['attempts', 'backoff', 'retryOn']);
  const retries = integerOption('retries.attempts', options.attempts, 0);
  const backoff =
    options.backoff === undefined ? {} : objectOption('retries.backoff', options.backoff);
  knownKeys('retries.backoff', backoff, ['initial', 'factor', 'max']);
  return {
    retries,
    initial:
      backoff.initial === undefined
        ? 0
        : numberOption('retries.backoff.initial', backoff.initial, 0),
    factor:
      backoff.factor === undefined ? 2 : numberOption('retries.backoff.factor', backoff.factor, 1),
    max: backoff.max === undefined ? 30_000 : numberOption('retries.backoff.max', backoff.max, 0),
    retryOn:
      options.retryOn === undefined
        ? defaultRetryOn
        : functionOption('retries.retryOn', options.retryOn),
  };
}

/** The wait before attempt `attempt + 1`, after `attempt` attempts failed. */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.max, policy.initial * policy.factor ** (attempt - 1));
}

/** Whether a job that just failed its `attempt`-th attempt should be tried again. */
export function shouldRetry(policy: RetryPolicy, error: TaskError, attempt: number): boolean {
  if (error.code === 'ERR_TASK_CANCELLED' || attempt > policy.retries) return false;
  return policy.retryOn(error, attempt);
}
