// onAbort: many hear of one signal's abort through one listener, as if each had its own;
// and a Stop, which makes its signal only when asked for one, is heard the same way.
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { onAbort, Stop } from '../src/abort.js';

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

describe('Stop', () => {
  // What each hearer test above does with a controller, done with a Stop.
  it('calls each hearer once, never one taken off, and lets the others hear when one throws', async () => {
    const stop = new Stop();
    const heard: string[] = [];
    const thrown = new Promise<unknown>((resolve) => process.once('uncaughtException', resolve));
    const offA = onAbort(stop, () => heard.push('a'));
    offA();
    let offC = () => {};
    onAbort(stop, () => {
      heard.push('b');
      offC();
    });
    offC = onAbort(stop, () => heard.push('c'));
    onAbort(stop, () => {
      throw new Error('a hearer bug');
    });
    onAbort(stop, () => heard.push('d'));
    stop.abort('why');
    stop.abort('again');
    expect(heard).toEqual(['b', 'd']);
    expect(stop.aborted).toBe(true);
    expect(stop.reason).toBe('why');
    expect(await thrown).toMatchObject({ message: 'a hearer bug' });
    onAbort(stop, () => heard.push('late'))(); // after the abort: never called
    expect(heard).toEqual(['b', 'd']);
  });

  it('makes a signal only when asked, aborted with its reason whenever asked', () => {
    const before = new Stop();
    const signal = before.signal;
    expect(before.signal).toBe(signal);
    expect(signal.aborted).toBe(false);
    before.abort('first');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe('first');

    const after = new Stop();
    after.abort('late');
    expect(after.signal.aborted).toBe(true);
    expect(after.signal.reason).toBe('late');
  });

  it('is heard as an event emitter is, the way Piscina listens to a signal', () => {
    const stop = new Stop();
    const heard: string[] = [];
    const a = () => heard.push('a');
    const b = () => heard.push('b');
    stop.once('abort', a);
    stop.once('abort', b);
    stop.removeListener('abort', a);
    stop.abort();
    stop.abort();
    expect(heard).toEqual(['b']);
  });

  it('aborts with an AbortError when given no reason, as AbortController does', () => {
    const stop = new Stop();
    stop.abort();
    expect(stop.reason).toBeInstanceOf(DOMException);
    expect((stop.reason as DOMException).name).toBe('AbortError');
    expect(stop.signal.reason).toBe(stop.reason);
  });
});
