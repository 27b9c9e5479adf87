// Where things are in the text of a JSON array (`fanout run --format json`), which
// JSON.parse does not say: the line each element starts on, and where a text that does not
// parse stops being JSON. Both are plain scans of the text, in one pass.

const SPACE = 32;
const TAB = 9;
const LF = 10;
const CR = 13;
const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;

/**
 * The line (from 1) where each element of the array `text` starts, for a text that
 * JSON.parse took as an array of `count` elements: one pass, a character at a time (a
 * call to indexOf per string cost more). Only the array's own commas count: strings are
 * skipped whole (a JSON string holds no line break), nested values by their depth.
 */
export function elementLines(text: string, count: number): Uint32Array {
  const lines = new Uint32Array(count);
  const n = text.length;
  let line = 1;
  let depth = 0;
  let found = 0;
  // At depth 1, after the array's `[` or a comma: the next value is an element.
  let expecting = false;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      if (expecting) {
        expecting = false;
        if (found < count) lines[found++] = line;
      }
      for (i++; i < n; i++) {
        const inside = text.charCodeAt(i);
        if (inside === QUOTE) break;
        if (inside === BACKSLASH) i++;
      }
      continue;
    }
    // (Whitespace: in a valid text, nothing else is at or below a space.)
    if (c <= SPACE) {
      if (c === LF) line++;
      continue;
    }
    if (expecting) {
      expecting = false;
      if (c !== CLOSE_ARRAY && found < count) lines[found++] = line;
    }
    if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      depth++;
      if (depth === 1) expecting = true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
    } else if (c === COMMA && depth === 1) {
      expecting = true;
    }
  }
  return lines;
}

/** The line (from 1) that the character at `position` is on. */
export function lineAt(text: string, position: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < position; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

const isDigit = (c: number) => c >= 48 && c <= 57;
const isHex = (c: number) => isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
/** The characters that may follow a backslash in a JSON string (`u` takes four hex digits). */
const ESCAPES = new Set([...'"\\/bfnrtu'].map((c) => c.charCodeAt(0)));

/**
 * Where `text` stops being JSON (RFC 8259): the index of the first character that cannot
 * continue a valid text, `text.length` if it ends too early, or -1 if it is valid. For the
 * error of a text JSON.parse refused, which Node 20's messages do not place ("Unexpected
 * token", "Unexpected end of JSON input").
 */
export function jsonErrorAt(text: string): number {
  const n = text.length;
  // The open arrays and objects, innermost last.
  const open: number[] = [];
  let i = 0;
  type State = 'value' | 'first-value' | 'key' | 'first-key' | 'colon' | 'after';
  let state = 'value' as State;
  const word = (literal: string): boolean => {
    for (let k = 0; k < literal.length; k++, i++) {
      if (text.charCodeAt(i) !== literal.charCodeAt(k)) return false;
    }
    return true;
  };
  const string = (): boolean => {
    i++; // the opening quote
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        i++;
        return true;
      }
      if (c < 0x20) return false;
      if (c === BACKSLASH) {
        i++;
        const escaped = text.charCodeAt(i);
        if (!ESCAPES.has(escaped)) return false;
        i++;
        if (escaped === 117 /* u */) {
          for (let k = 0; k < 4; k++, i++) if (!isHex(text.charCodeAt(i))) return false;
        }
        continue;
      }
      i++;
    }
    return false;
  };
  const digits = (): boolean => {
    if (!isDigit(text.charCodeAt(i))) return false;
    while (isDigit(text.charCodeAt(i))) i++;
    return true;
  };
  const number = (): boolean => {
    if (text.charCodeAt(i) === 45 /* - */) i++;
    if (text.charCodeAt(i) === 48 /* 0 */) i++;
    else if (!digits()) return false;
    if (text.charCodeAt(i) === 46 /* . */) {
      i++;
      if (!digits()) return false;
    }
    const e = text.charCodeAt(i);
    if (e === 101 || e === 69) {
      i++;
      const sign = text.charCodeAt(i);
      if (sign === 43 || sign === 45) i++;
      if (!digits()) return false;
    }
    return true;
  };
  /** A value begins at `i`: an array or object is opened, a scalar read whole. */
  const value = (c: number): boolean => {
    if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      open.push(c);
      i++;
      state = c === OPEN_ARRAY ? 'first-value' : 'first-key';
      return true;
    }
    state = 'after';
    if (c === QUOTE) return string();
    if (c === 116) return word('true');
    if (c === 102) return word('false');
    if (c === 110) return word('null');
    return number();
  };
  for (;;) {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c !== SPACE && c !== TAB && c !== LF && c !== CR) break;
      i++;
    }
    if (i >= n) return state === 'after' && open.length === 0 ? -1 : n;
    const c = text.charCodeAt(i);
    switch (state) {
      case 'first-value':
      case 'value':
        if (state === 'first-value' && c === CLOSE_ARRAY) {
          open.pop();
          i++;
          state = 'after';
        } else if (!value(c)) {
          return Math.min(i, n);
        }
        break;
      case 'first-key':
      case 'key':
        if (state === 'first-key' && c === CLOSE_OBJECT) {
          open.pop();
          i++;
          state = 'after';
        } else if (c !== QUOTE || !string()) {
          return Math.min(i, n);
        } else {
          state = 'colon';
        }
        break;
      case 'colon':
        if (c !== COLON) return i;
        i++;
        state = 'value';
        break;
      case 'after': {
        const inner = open[open.length - 1];
        if (inner === undefined) return i; // something after the whole value
        if (c === COMMA) {
          i++;
          state = inner === OPEN_ARRAY ? 'value' : 'key';
        } else if (c === (inner === OPEN_ARRAY ? CLOSE_ARRAY : CLOSE_OBJECT)) {
          open.pop();
          i++;
        } else {
          return i;
        }
        break;
      }
    }
  }
}
