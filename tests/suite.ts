/**
 * The one shared suite. It imports no test runner: each runtime's entry file
 * passes its own `test` function and the adapters it can run.
 */

import type { Target, TestFn } from "./harness.ts";
import type { KvOptions } from "../src/options.ts";
import { valueTests } from "./suite/values.ts";
import { ttlTests } from "./suite/ttl.ts";
import { writeTests } from "./suite/writes.ts";
import { limitTests, queryTests } from "./suite/query.ts";
import { tagTests } from "./suite/tags.ts";
import { transactionTests } from "./suite/transactions.ts";
import { namespaceTests } from "./suite/namespaces.ts";
import { maintenanceTests } from "./suite/maintenance.ts";
import { schemaTests } from "./suite/schema.ts";
import { openTests } from "./suite/open.ts";
import { faultTests, syncFaultTests } from "./suite/fault.ts";
import { reliabilityTests } from "./suite/reliability.ts";
import { modelTests } from "./suite/model.ts";
import { namedEntryPointTests, nameTests } from "./suite/names.ts";
import { watchTests } from "./suite/watch.ts";
import { queueTests } from "./suite/queue.ts";
import { asyncTests } from "./suite/async.ts";
import { cacheTests } from "./suite/cache.ts";
import { batchedTests } from "./suite/batched.ts";
import { denoKvTests } from "./suite/denokv.ts";

export type { Target, TestFn } from "./harness.ts";

/** The same adapter with every store opened in `durability: "batched"` mode. */
export function batchedTarget(target: Target): Target {
  const batched = (options?: KvOptions): KvOptions => ({ durability: "batched", ...options });
  return {
    ...target,
    name: `${target.name} (batched)`,
    open: (path, options) => target.open(path, batched(options)),
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
  ttlTests(named, target);
  writeTests(named, target);
  queryTests(named, target);
  limitTests(named, target);
  tagTests(named, target);
  transactionTests(named, target);
  namespaceTests(named, target);
  maintenanceTests(named, target);
  schemaTests(named, target);
  openTests(named, target);
  faultTests(named, target);
  reliabilityTests(named, target);
  modelTests(named, target);
  nameTests(named, target);
  watchTests(named, target);
  queueTests(named, target);
  if (target.async) return asyncTests(named, target);
  syncFaultTests(named, target);
  cacheTests(named, target);
  namedEntryPointTests(named, target);
  denoKvTests(named, target);
  // The batched-mode tests open their own batched stores: once per adapter.
  if (!target.name.endsWith("(batched)")) batchedTests(named, target);
}
