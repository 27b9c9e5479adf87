// Parsers for numeric flags: a bad value is a usage error that names what was received.
import { InvalidArgumentError } from 'commander';
import { tooManyThreads } from '../machine.js';

export function integerFrom(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min) {
      throw new InvalidArgumentError(`Expected an integer from ${min} and up, got \`${value}\`.`);
    }
    return n;
  };
}

export function chunkArg(value: string): 'auto' | number {
  return value === 'auto' ? 'auto' : integerFrom(1)(value);
}

/** `--threads`: from `min`, and no more than the machine's memory could hold. */
export function threadsFrom(min: number): (value: string) => number {
  const integer = integerFrom(min);
  return (value) => {
    const n = integer(value);
    const tooMany = tooManyThreads(n);
    if (tooMany) throw new InvalidArgumentError(`Expected ${tooMany}, got \`${value}\`.`);
    return n;
  };
}
