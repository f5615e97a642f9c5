// Limits on the shape of a JSON body, checked by one iterative scan before JSON.parse: parsing
// (and every recursive walk after it) of a deeply nested body can overflow the stack, and a body
// of millions of tiny values costs far more memory than its bytes suggest. The same scan notes
// whether any string could be a "__proto__" or "constructor" key, so that the body can skip
// secure-json-parse's own two passes over the text (prototype poisoning) when none can.
import { ServeError } from './errors.ts';

export interface JsonLimits {
  /** Deepest nesting of arrays and objects (K2K_MAX_JSON_DEPTH). */
  maxDepth: number;
  /** Most values: array elements and object members, containers included (K2K_MAX_JSON_ELEMENTS). */
  maxElements: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const COMMA = 0x2c;

/**
 * Throws NestingTooDeep or TooManyElements naming the limit; malformed JSON is left to the parser.
 * Answers whether a string in the body could be a "__proto__" or "constructor" key: one spelled
 * so, or any string with an escape (which could spell it as \u005f…).
 */
export function checkJsonLimits(text: string, limits: JsonLimits): { mayPoison: boolean } {
  let depth = 0;
  // Every value but the first of each container follows a comma; every container opens once.
  let elements = 0;
  let mayPoison = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // Skip the string: brackets and commas inside it are text.
      const start = i + 1;
      for (i++; i < text.length; i++) {
        const s = text.charCodeAt(i);
        if (s === BACKSLASH) {
          mayPoison = true;
          i++;
        } else if (s === QUOTE) break;
      }
      const length = i - start;
      if (
        (length === 9 && text.startsWith('__proto__', start)) ||
        (length === 11 && text.startsWith('constructor', start))
      )
        mayPoison = true;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > limits.maxDepth) {
        throw new ServeError(
          'NestingTooDeep',
          `the JSON body nests arrays and objects deeper than ${limits.maxDepth} levels (K2K_MAX_JSON_DEPTH)`,
        );
      }
      elements++;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
    } else if (c === COMMA) {
      elements++;
    } else {
      continue;
    }
    if (elements > limits.maxElements) {
      throw new ServeError(
        'TooManyElements',
        `the JSON body holds more than ${limits.maxElements} values (K2K_MAX_JSON_ELEMENTS)`,
      );
    }
  }
  return { mayPoison };
}
