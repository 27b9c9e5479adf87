// Parsers for numeric flags: a bad value is a usage error that names what was received.
import { InvalidArgumentError } from 'commander';

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
