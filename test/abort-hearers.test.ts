// onAbort: many hear of one signal's abort through one listener, as if each had its own.
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { onAbort } from '../src/abort.js';

describe('onAbort', () => {
  it('calls each hearer once, and takes its listener off when none is left', () => {
    const controller = new AbortController();
    const heard: string[] = [];
    const offA = onAbort(controller.signal, () => heard.push('a'));
    const offB = onAbort(controller.signal, () => heard.push('b'));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    offA();
    offB();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    const offC = onAbort(controller.signal, () => heard.push('c'));
    controller.abort();
    controller.abort();
    expect(heard).toEqual(['c']);
    offC(); // after the abort: harmless
  });

  it('does not call a hearer that an earlier one took off', () => {
    const controller = new AbortController();
    const heard: string[] = [];
    let offB = () => {};
    onAbort(controller.signal, () => {
      heard.push('a');
      offB();
    });
    offB = onAbort(controller.signal, () => heard.push('b'));
    controller.abort();
    expect(heard).toEqual(['a']);
  });

  it('lets the others hear when one throws, and throws that on its own', async () => {
    const controller = new AbortController();
    const heard: string[] = [];
    const thrown = new Promise<unknown>((resolve) => process.once('uncaughtException', resolve));
    onAbort(controller.signal, () => heard.push('a'));
    onAbort(controller.signal, () => {
      throw new Error('a hearer bug');
    });
    onAbort(controller.signal, () => heard.push('c'));
    controller.abort();
    expect(heard).toEqual(['a', 'c']);
    expect(await thrown).toMatchObject({ message: 'a hearer bug' });
  });
});
