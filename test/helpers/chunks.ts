// Chunks as a trace shows them: inside a chunk, each item starts on its thread at the
// very timestamp the one before it ended (the worker reads its clock once per item).
import type { CallTrace } from '../../src/index.js';

/** The sizes of the chunks of a call, in the order they started. */
export function chunkSizes(trace: CallTrace): number[] {
  const open = new Map<number, { end: number; size: number }>();
  const chunks: { size: number }[] = [];
  for (const a of trace.attempts) {
    // sorted by start
    const current = open.get(a.thread);
    if (current && current.end === a.start) {
      current.size++;
      current.end = a.end;
    } else {
      const chunk = { end: a.end, size: 1 };
      open.set(a.thread, chunk);
      chunks.push(chunk);
    }
  }
  return chunks.map((c) => c.size);
}
