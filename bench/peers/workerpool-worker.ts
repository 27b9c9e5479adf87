// The worker script for workerpool: registers one method, called by pool.exec('run', [message]).
import workerpool from 'workerpool';
import { runKernel } from './kernel.js';

workerpool.worker({ run: runKernel });
