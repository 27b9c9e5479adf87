// Every error code fanout can report is documented in the README (callers match on codes).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

describe('error codes', () => {
  const codes = [...read('../src/errors.ts').matchAll(/'(ERR_[A-Z_]+)'/g)].map((m) => m[1]!);

  it('are found in src/errors.ts (the test is not vacuous)', () => {
    expect(codes).toEqual(
      expect.arrayContaining([
        'ERR_TASK_FAILED',
        'ERR_TASK_TIMEOUT',
        'ERR_TASK_CANCELLED',
        'ERR_WORKER_EXITED',
        'ERR_DATA_CLONE',
        'ERR_TASK_NOT_FOUND',
        'ERR_QUEUE_FULL',
        'ERR_RUNNER_CLOSED',
        'ERR_INVALID_ARG_TYPE',
        'ERR_INVALID_ARG_VALUE',
      ]),
    );
  });

  it('each appear in README.md', () => {
    const readme = read('../README.md');
    const missing = [...new Set(codes)].filter((code) => !readme.includes(code));
    expect(missing).toEqual([]);
  });
});
