// Deno entry: node:sqlite, and @db/sqlite when it can be resolved and loaded
// (it comes from JSR and needs --allow-ffi); otherwise its tests are skipped
// with the reason printed.
import { batchedTarget, defineSuite, type TestFn } from "./suite.ts";
import { processTests } from "./suite/process.ts";
import { asyncProcessTests } from "./suite/async.ts";
import { asyncTarget, nodeTarget } from "./targets.ts";
import { cleanup } from "./util.ts";
import { stopPgNow } from "./pg_target.ts";
import { openKv } from "../mod.ts";
import { builtinTests } from "./suite/builtin.ts";
import { denoKvEntryTests } from "./suite/denokv.ts";
import { cliNameTests } from "./suite/names.ts";
import { sharedFileTests } from "./suite/shared_file.ts";
import { litestreamTests } from "./suite/litestream.ts";
import { postgresTests } from "./suite/postgres.ts";
import { asyncBatchedCrashTests, batchedCrashTests, crashTests } from "./suite/crash.ts";
import { cacheProcessTests } from "./suite/cache.ts";
import type { Target } from "./harness.ts";
import { fromStd, type StdAssert, useAssert } from "./assert.ts";

declare const Deno: {
  test(
    options: {
      name: string;
      fn: () => void | Promise<void>;
      sanitizeOps: boolean;
      sanitizeResources: boolean;
      ignore?: boolean;
    },
  ): void;
};

const test: TestFn = (name, fn, options) =>
  Deno.test({
    name: options?.skip === undefined ? name : `${name} (skipped: ${options.skip})`,
    fn,
    sanitizeOps: false,
    sanitizeResources: false,
    ignore: options?.skip !== undefined,
  });

// Assert with @std/assert when it resolves (it lives on JSR), else with node:assert/strict.
try {
  const std = await import("@std/assert");
  useAssert(fromStd(std as unknown as StdAssert));
  console.log("asserting with @std/assert");
} catch (error) {
  const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
  console.log(`asserting with node:assert/strict: @std/assert could not be loaded (${reason})`);
}

const node = nodeTarget("deno");
defineSuite(test, node);
defineSuite(test, batchedTarget(node));
defineSuite(test, asyncTarget(node));
defineSuite(test, asyncTarget(batchedTarget(node)));
builtinTests(test, openKv, "node:sqlite");
denoKvEntryTests(test);
cliNameTests(test, node);
sharedFileTests(test, node);
litestreamTests(test, node);
asyncProcessTests(test);
processTests(test, node.raw);
crashTests(test, node);
batchedCrashTests(test, node);
asyncBatchedCrashTests(test, node);
cacheProcessTests(test, node);

let dbTarget: Target | undefined;
let reason = "";
try {
  const adapter = await import("../adapters/db_sqlite.ts");
  const { Database } = await import("@db/sqlite");
  const open = (path: string) => new Database(path, { int64: true });
  open(":memory:").close();
  dbTarget = {
    name: "@db/sqlite on deno",
    runtime: "deno",
    open: adapter.openKv,
    openKv: adapter.openKv,
    openKvAsync: adapter.openKvAsync,
    fromDatabase(path, options) {
      const db = open(path);
      return {
        kv: adapter.fromDatabase(db, options),
        userHandleWorks: () => db.open,
        closeUser: () => db.close(),
        pragma: (name: string) => db.prepare(`PRAGMA ${name}`).value()![0],
      };
    },
    raw: (path) => adapter.dbSqliteDriver(open(path)),
  };
} catch (error) {
  reason = error instanceof Error ? error.message.split("\n")[0]! : String(error);
}

if (dbTarget) {
  defineSuite(test, dbTarget);
  defineSuite(test, batchedTarget(dbTarget));
  defineSuite(test, asyncTarget(dbTarget));
} else {
  console.log(`@db/sqlite tests skipped: @db/sqlite could not be loaded (${reason})`);
  Deno.test({
    name: "@db/sqlite on deno: whole suite",
    fn: () => {},
    sanitizeOps: false,
    sanitizeResources: false,
    ignore: true,
  });
}

postgresTests(test);
globalThis.addEventListener("unload", stopPgNow);
globalThis.addEventListener("unload", cleanup);
