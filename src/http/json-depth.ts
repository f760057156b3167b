/**
 * How deeply a JSON text nests its objects and arrays, read from the bytes before anything parses
 * them: a value nested thousands of levels deep parses fine but overflows the stack of every
 * recursive walk after it (the validator, the upstream request's JSON.stringify, the session
 * store). The scan is one pass over the bytes and needs no valid JSON (a text that is not JSON is
 * the parser's to reject); brackets inside strings do not count.
 */
export class JsonDepthScanner {
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** The deepest level reached so far. */
  deepest = 0;

  private readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Reads the next piece of the text; false once the nesting went deeper than the limit. */
  push(bytes: Uint8Array): boolean {
    let { depth, inString, escaped, deepest } = this;
    const limit = this.limit;
    const length = bytes.length;
    // Where the next quote and backslash are, found natively (indexOf) and kept until passed:
    // strings are most of a large body and are skipped rather than walked byte by byte.
    let nextQuote = -1;
    let nextBackslash = -1;
    let i = 0;
    if (escaped && length > 0) {
      escaped = false;
      i = 1;
    }
    while (i < length) {
      if (inString) {
        if (nextQuote < i) nextQuote = indexOrEnd(bytes, 0x22, i);
        if (nextBackslash < i) nextBackslash = indexOrEnd(bytes, 0x5c, i);
        if (nextBackslash < nextQuote) {
          // An escape: the byte after the backslash is never the string's end.
          i = nextBackslash + 2;
          if (i > length) escaped = true;
        } else {
          if (nextQuote < length) inString = false;
          i = nextQuote + 1;
        }
        continue;
      }
      const byte = bytes[i++];
      if (byte === 0x22) {
        inString = true;
      } else if (byte === 0x7b || byte === 0x5b) {
        if (++depth > deepest) deepest = depth;
        if (depth > limit) {
          this.deepest = depth;
          return false;
        }
      } else if (byte === 0x7d || byte === 0x5d) {
        depth--;
      }
    }
    this.deepest = deepest;
    this.depth = depth;
    this.inString = inString;
    this.escaped = escaped;
    return true;
  }
}

/** Whether `text` (a whole JSON text) nests deeper than `limit` levels. */
export function nestsDeeperThan(text: Uint8Array | string, limit: number): boolean {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  return !new JsonDepthScanner(limit).push(bytes);
}

/** The position of `byte` from `from` on, or the length when there is none. */
function indexOrEnd(bytes: Uint8Array, byte: number, from: number): number {
  const at = bytes.indexOf(byte, from);
  return at === -1 ? bytes.length : at;
}
