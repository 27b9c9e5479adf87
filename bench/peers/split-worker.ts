// The worker of bench:core's ceiling: runs a whole static share of the items in one
// message, the least any pool could spend on dispatch.
import { parentPort } from 'node:worker_threads';
import { type PeerMessage, runKernel } from './kernel.js';

parentPort?.on('message', (items: PeerMessage[]) => {
  parentPort?.postMessage(items.map(runKernel));
});
