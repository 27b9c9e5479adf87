// Validation where options enter: TypeError for a wrong type, RangeError for a wrong
// value, each naming the option and the value received.
import { InvalidArgValueError, invalidType, invalidValue } from './errors.js';

export function integerOption(
  name: string,
  value: unknown,
  min: number,
  { infinity = false }: { infinity?: boolean } = {},
): number {
  if (typeof value !== 'number') {
    throw invalidType(name, `an integer from ${min} and up`, value);
  }
  if (infinity && value === Number.POSITIVE_INFINITY) return value;
  if (!Number.isInteger(value) || value < min) {
    throw invalidValue(
      name,
      `an integer from ${min} and up${infinity ? ' (or Infinity)' : ''}`,
      value,
    );
  }
  return value;
}

export function numberOption(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number') throw invalidType(name, `a number from ${min} and up`, value);
  if (Number.isNaN(value) || value < min) {
    throw invalidValue(name, `a number from ${min} and up`, value);
  }
  return value;
}

export function booleanOption(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidType(name, 'a boolean', value);
  return value;
}

export function functionOption<F>(name: string, value: unknown): F {
  if (typeof value !== 'function') throw invalidType(name, 'a function', value);
  return value as F;
}

export function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  const list = allowed.map((a) => `'${a}'`).join(' or ');
  if (typeof value !== 'string') throw invalidType(name, list, value);
  if (!allowed.includes(value as T)) throw invalidValue(name, list, value);
  return value as T;
}

export function objectOption(
  name: string,
  value: unknown,
  expected = 'an object',
): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidType(name, expected, value);
  }
  return value as Record<string, unknown>;
}

export function signalOption(name: string, value: unknown): AbortSignal {
  if (!(value instanceof AbortSignal)) throw invalidType(name, 'an AbortSignal', value);
  return value;
}

/** Rejects option names the caller probably misspelled, naming them. */
export function knownKeys(name: string, value: Record<string, unknown>, known: readonly string[]) {
  for (const key of Object.keys(value)) {
    if (!known.includes(key) && value[key] !== undefined) {
      throw new InvalidArgValueError(
        `Unknown key \`${key}\` in \`${name}\` (the keys it takes: ${known.join(', ')})`,
      );
    }
  }
}
