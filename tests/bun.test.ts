// Bun entry: bun:sqlite and node:sqlite, and real second processes.
import { afterAll, test as bunTest } from "bun:test";
import { batchedTarget, defineSuite, type TestFn } from "./suite.ts";
import { processTests } from "./suite/process.ts";
import { asyncProcessTests } from "./suite/async.ts";
import { asyncTarget, betterTarget, bunTarget, nodeTarget } from "./targets.ts";
import { cleanup } from "./util.ts";
import { openKv } from "../mod.ts";
import { builtinTests } from "./suite/builtin.ts";
import { cliNameTests } from "./suite/names.ts";
import { sharedFileTests } from "./suite/shared_file.ts";
import { keyvTests } from "./suite/keyv.ts";
import { asyncBatchedCrashTests, batchedCrashTests, crashTests } from "./suite/crash.ts";
import { cacheProcessTests } from "./suite/cache.ts";

const test: TestFn = (name, fn, options) =>
  options?.skip === undefined ? bunTest(name, fn, 120_000) : bunTest.skip(`${name} (skipped: ${options.skip})`, fn);
const bun = bunTarget();
defineSuite(test, bun);
defineSuite(test, batchedTarget(bun));
const nodeOnBun = nodeTarget("bun");
defineSuite(test, nodeOnBun);
defineSuite(test, batchedTarget(nodeOnBun));
defineSuite(test, betterTarget("libsql", "bun"));
defineSuite(test, asyncTarget(bun));
defineSuite(test, asyncTarget(batchedTarget(bun)));
defineSuite(test, asyncTarget(nodeOnBun));
defineSuite(test, asyncTarget(betterTarget("libsql", "bun")));
builtinTests(test, openKv, "bun:sqlite");
cliNameTests(test, bun);
sharedFileTests(test, bun);
keyvTests(test);
asyncProcessTests(test);
processTests(test, bun.raw);
crashTests(test, bun);
batchedCrashTests(test, bun);
asyncBatchedCrashTests(test, bun);
cacheProcessTests(test, bun);
afterAll(cleanup);
