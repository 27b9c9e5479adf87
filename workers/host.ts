// The Piscina worker entry: one chunk in, one response out. Task failures are returned
// as values so nothing about them is lost crossing back (see protocol.ts). The buffers of
// outputs move to the main thread instead of being copied.
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { buffersIn, type TaskRequest, type TaskResponse } from '../src/protocol.js';
import { runRequest } from './task-host.js';

export default async function host(request: TaskRequest): Promise<TaskResponse> {
  const response = await runRequest(request);
  const buffers = new Set<ArrayBuffer>([response.times.buffer as ArrayBuffer]);
  for (const value of response.values) buffersIn(value, buffers);
  return move({
    [transferableSymbol]: [...buffers],
    [valueSymbol]: response,
  } as never) as unknown as TaskResponse;
}
