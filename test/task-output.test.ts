// What tasks write to standard output (console.log) reaches the process's standard output
// before their results reach the caller, so what the caller prints of them comes after
// (and a caller that exits once it has them loses none of it); and a process whose
// standard output broke still finishes its work.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('./fixtures/task-output.mjs', import.meta.url));

describe("tasks' standard output", () => {
  it.each(['1', '2'])(
    'is all written before the results reach the caller (%s threads)',
    async (threads) => {
      const { stdout } = await promisify(execFile)(process.execPath, [script, threads], {
        maxBuffer: 64 * 1024 * 1024,
      });
      const lines = stdout.split('\n');
      const done = lines.indexOf('results 40');
      expect(done).toBeGreaterThan(0);
      const before = new Set(lines.slice(0, done));
      const missing: string[] = [];
      for (let id = 0; id < 40; id++) {
        for (let i = 0; i < 50; i++) if (!before.has(`${id}:${i}`)) missing.push(`${id}:${i}`);
      }
      for (let i = 0; i < 2000; i++) if (!before.has(`40:${i}`)) missing.push(`40:${i}`);
      expect(missing).toEqual([]);
    },
  );

  it('does not hold up the work once the standard output is gone (a reader that went away)', async () => {
    const child = spawn(process.execPath, [script, 'broken'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    await once(child.stdout, 'data');
    child.stdout.destroy();
    child.stdin.write('go\n');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(stderr).toContain('finished');
    expect(code).toBe(0);
  });
});
