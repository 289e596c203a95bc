/**
 * Keys: what a key may be (a well-formed string, at most 2048 UTF-8 bytes to
 * be written) and its length in the bytes it sorts by.
 *
 * @module
 */

import { typeName } from "./check.ts";

/** The largest key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 2048;

/** The length of `text` in UTF-8 bytes. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Throws unless `key` is a non-empty, well-formed string of at most 2048
 * UTF-8 bytes: the rule for a key about to be written.
 */
export function checkKey(key: unknown, what: string): asserts key is string {
  checkStoredKey(key, what);
  // Each UTF-16 unit is at most 3 UTF-8 bytes, so short keys skip the count.
  if (key.length * 3 > MAX_KEY_BYTES && utf8Length(key) > MAX_KEY_BYTES) {
    throw new RangeError(
      `Cannot ${what}: key must be 1 to ${MAX_KEY_BYTES} UTF-8 bytes, received ${utf8Length(key)} bytes`,
    );
  }
}

/**
 * Throws unless `key` could name a stored row: a non-empty, well-formed
 * string without NUL, of any length. Reads, deletes and the source of a rename
 * use this rule, so that a longer key adopted from a legacy table can still be
 * read and removed.
 */
export function checkStoredKey(key: unknown, what: string): asserts key is string {
  if (typeof key !== "string") {
    throw new TypeError(`Cannot ${what}: key must be a string, received ${typeName(key)}`);
  }
  if (key.length === 0) {
    throw new RangeError(`Cannot ${what}: key must be 1 to ${MAX_KEY_BYTES} UTF-8 bytes, received an empty string`);
  }
  if (!key.isWellFormed()) {
    throw new RangeError(`Cannot ${what}: key must be well-formed Unicode, received a lone surrogate`);
  }
  if (key.includes("\0")) {
    throw new RangeError(`Cannot ${what}: key must not contain NUL characters`);
  }
}
