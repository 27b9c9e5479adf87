// The worker file for Piscina and tinypool: both call the default export with each task.
import { type PeerMessage, runKernel } from './kernel.js';

export default function run(message: PeerMessage): unknown {
  return runKernel(message);
}
