// The Piscina worker entry: one request in, one response out. Task failures are
// returned as values so nothing about them is lost crossing back (see protocol.ts).
import type { TaskRequest, TaskResponse } from '../src/protocol.js';
import { runRequest } from './task-host.js';

export default function host(request: TaskRequest): Promise<TaskResponse> {
  return runRequest(request);
}
