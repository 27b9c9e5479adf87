// The worker file for poolifier: a ThreadWorker over one task function.
import { ThreadWorker } from 'poolifier';
import { type PeerMessage, runKernel } from './kernel.js';

export default new ThreadWorker<PeerMessage, unknown>((message) => {
  if (!message) throw new TypeError('poolifier sent no message');
  return runKernel(message);
});
