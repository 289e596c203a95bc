/**
 * The one shared suite. It imports no test runner: each runtime's entry file
 * passes its own `test` function and the adapters it can run.
 */

import type { Target, TestFn } from "./harness.ts";
import type { KvOptions } from "../src/options.ts";
import { valueTests } from "./suite_values.ts";
import { opsTests } from "./suite_ops.ts";
import { limitTests, queryTests } from "./suite_query.ts";
import { adminTests } from "./suite_admin.ts";
import { reliabilityTests } from "./suite_reliability.ts";
import { modelTests } from "./suite_model.ts";
import { faultTests } from "./suite_fault.ts";
import { tagTests } from "./suite_tags.ts";
import { cacheTests } from "./suite_cache.ts";
import { batchedTests } from "./suite_batched.ts";
import { firstHourTests } from "./suite_first_hour.ts";
import { lineageTests } from "./suite_lineage.ts";
import { asyncTests } from "./suite_async.ts";

export type { Target, TestFn } from "./harness.ts";

/** The same adapter with every store opened in `durability: "batched"` mode. */
export function batchedTarget(target: Target): Target {
  const batched = (options?: KvOptions): KvOptions => ({ durability: "batched", ...options });
  return {
    ...target,
    name: `${target.name} (batched)`,
    openKv: (path, options) => target.openKv(path, batched(options)),
    ...(target.openKvAsync && { openKvAsync: (path, options) => target.openKvAsync!(path, batched(options)) }),
    fromDatabase: (path, options) => target.fromDatabase(path, batched(options)),
  };
}

/** Registers the whole suite for one adapter. */
export function defineSuite(test: TestFn, target: Target): void {
  const named: TestFn = (name, fn, options) => test(`${target.name}: ${name}`, fn, options);
  // These await every call: they run the synchronous store and the async client alike.
  valueTests(named, target);
  opsTests(named, target);
  queryTests(named, target);
  limitTests(named, target);
  adminTests(named, target);
  reliabilityTests(named, target);
  tagTests(named, target);
  firstHourTests(named, target);
  lineageTests(named, target);
  modelTests(named, target);
  if (target.async) return asyncTests(named, target);
  faultTests(named, target);
  cacheTests(named, target);
  // The batched-mode tests open their own batched stores: once per adapter.
  if (!target.name.endsWith("(batched)")) batchedTests(named, target);
}
