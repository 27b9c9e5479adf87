// `npm run example:stream` end to end on a small file: the script streams a JSONL log
// through runner.map and checks, itself, that what it wrote matches the main thread's
// output line for line (it throws otherwise). Nothing here asserts a timing.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const example = fileURLToPath(new URL('../dist/examples/stream.js', import.meta.url));

describe('examples/stream', () => {
  it('writes, in input order, the same records as the main thread alone, in both rounds', async () => {
    const { stdout } = await run(process.execPath, [example, '300']);
    expect(stdout).toMatch(/^round 1: .*; 300 records, identical$/m);
    expect(stdout).toMatch(/^round 2: .*; 300 records, identical$/m);
    expect(stdout).toMatch(/last progress report: 300 done, 0 failed/);
  });

  it('refuses a line count that is not a positive integer, saying what it got', async () => {
    const error = await run(process.execPath, [example, 'many']).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 1 });
    expect((error as { stderr: string }).stderr).toContain(
      'Expected the number of lines (a positive integer), got many',
    );
  });
});
