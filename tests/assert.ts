/**
 * The assertions of the shared suite. Each runtime's entry may hand over its
 * own: Deno's uses `@std/assert` when it resolves; Node and Bun, and Deno when
 * it cannot resolve JSR, use `node:assert/strict`, which all three ship.
 */

import nodeAssert from "node:assert/strict";

type Expected = unknown;

/** The part of `node:assert/strict` that the suite uses. */
export interface Assert {
  equal(actual: unknown, expected: unknown, message?: string): void;
  notEqual(actual: unknown, expected: unknown, message?: string): void;
  deepEqual(actual: unknown, expected: unknown, message?: string): void;
  deepStrictEqual(actual: unknown, expected: unknown, message?: string): void;
  ok(value: unknown, message?: string): asserts value;
  match(text: string, pattern: RegExp, message?: string): void;
  doesNotMatch(text: string, pattern: RegExp, message?: string): void;
  throws(fn: () => unknown, expected?: Expected, message?: string): void;
  rejects(promise: Promise<unknown> | (() => Promise<unknown>), expected?: Expected, message?: string): Promise<void>;
}

/** The assertions in use; a live binding, so that an entry can swap them before tests run. */
export let assert: Assert = nodeAssert as unknown as Assert;

/** Replaces the assertions (call before registering tests). */
export function useAssert(a: Assert): void {
  assert = a;
}

/** The functions of `@std/assert` that the mapping below calls. */
export interface StdAssert {
  assert(expr: unknown, msg?: string): asserts expr;
  assertStrictEquals(actual: unknown, expected: unknown, msg?: string): void;
  assertNotStrictEquals(actual: unknown, expected: unknown, msg?: string): void;
  assertEquals(actual: unknown, expected: unknown, msg?: string): void;
  assertMatch(actual: string, expected: RegExp, msg?: string): void;
  assertNotMatch(actual: string, expected: RegExp, msg?: string): void;
  assertThrows(fn: () => unknown, msg?: string): unknown;
  assertRejects(fn: () => PromiseLike<unknown>, msg?: string): Promise<unknown>;
}

const isErrorClass = (e: unknown): e is new (...args: never[]) => Error =>
  typeof e === "function" && (e === Error || (e as { prototype?: unknown }).prototype instanceof Error);

/** Node's meaning of `expected` (a class, a RegExp against the error's string, a validator), checked with std. */
function check(std: StdAssert, error: unknown, expected: Expected, message?: string): void {
  if (expected === undefined || typeof expected === "string") return;
  if (isErrorClass(expected)) {
    std.assert(error instanceof expected, message ?? `expected ${expected.name}, got ${error}`);
  } else if (expected instanceof RegExp) std.assertMatch(String(error), expected, message);
  else if (typeof expected === "function") std.assert((expected as (e: unknown) => unknown)(error) === true, message);
}

/** Node's assertion names over `@std/assert`'s functions, with the same strict semantics. */
export function fromStd(std: StdAssert): Assert {
  return {
    equal: (a, b, m) => std.assertStrictEquals(a, b, m),
    notEqual: (a, b, m) => std.assertNotStrictEquals(a, b, m),
    deepEqual: (a, b, m) => std.assertEquals(a, b, m),
    deepStrictEqual: (a, b, m) => std.assertEquals(a, b, m),
    ok: (v, m) => std.assert(v, m),
    match: (s, re, m) => std.assertMatch(s, re, m),
    doesNotMatch: (s, re, m) => std.assertNotMatch(s, re, m),
    throws(fn, expected, message) {
      const error = std.assertThrows(fn, typeof expected === "string" ? expected : message);
      check(std, error, expected, typeof expected === "string" ? expected : message);
    },
    async rejects(promise, expected, message) {
      const error = await std.assertRejects(typeof promise === "function" ? promise : () => promise, message);
      check(std, error, expected, message);
    },
  };
}
