/**
 * The generic rules for arguments: what a bad argument is called in a
 * message, and the checks every method shares (unknown options, booleans,
 * strings, functions, whole numbers, choices). Each throws the built-in
 * `TypeError` (wrong type) or `RangeError` (right type, wrong value) with a
 * sentence that names the call, the field and what was received. The rules of
 * one concern (keys, tags, expiry, names) live with it and build on these.
 *
 * @module
 */

/** A short description of a value for error messages. */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return `an object (${value.constructor?.name ?? "null prototype"})`;
  if (typeof value === "string") {
    return `a string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value)}`;
  }
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") {
    return `${typeof value} ${String(value)}`;
  }
  return typeof value;
}

/**
 * Throws `TypeError` unless `options` is `undefined` or an object whose own
 * keys are all in `known`: a misspelt option must not be silently ignored.
 */
export function checkOptions(options: unknown, known: readonly string[], what: string): void {
  if (options === undefined) return;
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(`Cannot ${what}: options must be an object, received ${typeName(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(`Cannot ${what}: unknown option ${JSON.stringify(key)} (known: ${known.join(", ")})`);
    }
  }
}

/** The boolean option `name` of `options` (already checked by {@link checkOptions}), `false` when absent. */
export function booleanOption(options: object | undefined, name: string, what: string): boolean {
  // An explicit null reads as absent here, as it always has for these flags.
  return checkBoolean((options as Record<string, unknown> | undefined)?.[name] ?? undefined, name, what);
}

/** A boolean argument, `false` when absent. */
export function checkBoolean(value: unknown, field: string, what: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean") {
    throw new TypeError(`Cannot ${what}: ${field} must be a boolean, received ${typeName(value)}`);
  }
  return value;
}

/**
 * A string that SQLite will compare as it is: no NUL (it would cut the text)
 * and no lone surrogate (SQLite would read U+FFFD and match what nobody named).
 */
export function checkString(value: unknown, field: string, what: string): asserts value is string {
  if (typeof value !== "string") {
    throw new TypeError(`Cannot ${what}: ${field} must be a string, received ${typeName(value)}`);
  }
  if (value.includes("\0")) {
    throw new RangeError(`Cannot ${what}: ${field} must not contain NUL characters`);
  }
  if (!value.isWellFormed()) {
    throw new RangeError(`Cannot ${what}: ${field} must be well-formed Unicode, received a lone surrogate`);
  }
}

/** A function argument, or `undefined` when absent. */
export function checkFunction(value: unknown, field: string, what: string): void {
  if (value !== undefined && typeof value !== "function") {
    throw new TypeError(`Cannot ${what}: ${field} must be a function, received ${typeName(value)}`);
  }
}

/** A whole number >= `min`, or `undefined` when absent. */
export function checkInteger(value: unknown, field: string, min: number, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number") {
    throw new TypeError(`Cannot ${what}: ${field} must be a number, received ${typeName(value)}`);
  }
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`Cannot ${what}: ${field} must be a whole number >= ${min}, received ${value}`);
  }
  return value;
}

/** One of `choices`, or `fallback` when absent. */
export function checkChoice<T extends string>(
  value: unknown,
  field: string,
  choices: readonly T[],
  fallback: T,
  what: string,
): T {
  if (value === undefined) return fallback;
  if (!choices.includes(value as T)) {
    throw new RangeError(`Cannot ${what}: ${field} must be one of ${choices.join(", ")}, received ${typeName(value)}`);
  }
  return value as T;
}
