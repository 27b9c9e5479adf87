// `fanout run` streams: a generated input that would not fit in the heap it is allowed
// goes through (the big version: bench/cli-memory.ts).
import { createWriteStream, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { fanout } from './helpers/cli.js';
import { scratchDir } from './helpers/scratch.js';

const tasks = fileURLToPath(new URL('./fixtures/tasks.mjs', import.meta.url));
const dir = scratchDir('mem');

it('runs an input bigger than its heap limit', async () => {
  const path = join(dir, 'big.jsonl');
  const out = createWriteStream(path);
  const pad = 'x'.repeat(100);
  for (let i = 0; i < 300_000; i++) {
    if (!out.write(`{"id":${i},"pad":"${pad}"}\n`)) {
      await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    }
  }
  await new Promise<void>((resolve) => out.end(() => resolve()));
  // Parsed and held all at once, these 35 MB of JSONL take about 100 MB of heap.
  expect(statSync(path).size / 2 ** 20).toBeGreaterThan(30);
  const heapLimitMiB = 64;
  const result = await fanout(
    ['run', tasks, '-e', 'echo', '-i', path, '-o', '/dev/null', '-v'],
    undefined,
    [`--max-old-space-size=${heapLimitMiB}`],
  );
  expect(result.code).toBe(0);
  expect(result.stderr).toContain('300000 items, 0 failed');
  const peak = Number(/peak heap ([\d.]+) MiB/.exec(result.stderr)?.[1]);
  expect(peak).toBeLessThan(heapLimitMiB);
});
