/** Deeper than any body Gatehouse takes (an admin-api client update nests 3 levels). */
export const MAX_JSON_DEPTH = 32;
/** Longer than any list Gatehouse takes (scopes, redirect URIs, roles). */
export const MAX_JSON_ARRAY_ITEMS = 1000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
/** In `separators`: the container at that depth is an object, whose commas are not counted. */
const OBJECT = -1;

const TOO_DEEP = `JSON bodies may nest objects and arrays at most ${MAX_JSON_DEPTH} levels deep.`;
const TOO_LONG = `JSON arrays may hold at most ${MAX_JSON_ARRAY_ITEMS} items.`;

/**
 * Why a JSON body is refused before it is parsed, or null. JSON.parse and everything after it (the
 * prototype-poisoning scan, class-transformer, class-validator) recurse per level and visit every
 * item: 20 000 nested arrays overflow the stack (a 500), a 100 000-item array costs every step
 * milliseconds. One pass over the bytes, skipping strings, stops at the first level or item too
 * many. UTF-8 never puts these ASCII bytes inside a multi-byte character; malformed JSON is left to
 * the parser.
 */
export function jsonShapeProblem(body: Uint8Array): string | null {
  const separators = new Int32Array(MAX_JSON_DEPTH + 1).fill(OBJECT);
  let depth = 0;
  let inString = false;
  for (let index = 0; index < body.length; index += 1) {
    const byte = body[index];
    if (inString) {
      if (byte === BACKSLASH) {
        index += 1;
      } else if (byte === QUOTE) {
        inString = false;
      }
      continue;
    }
    if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
      depth += 1;
      if (depth > MAX_JSON_DEPTH) {
        return TOO_DEEP;
      }
      separators[depth] = byte === OPEN_ARRAY ? 0 : OBJECT;
    } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) {
      depth = Math.max(0, depth - 1);
    } else if (byte === COMMA) {
      const seen = separators[depth] ?? OBJECT;
      if (seen !== OBJECT) {
        separators[depth] = seen + 1;
        if (seen + 1 >= MAX_JSON_ARRAY_ITEMS) {
          return TOO_LONG;
        }
      }
    }
  }
  return null;
}
