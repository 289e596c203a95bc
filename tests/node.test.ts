// Node entry: node:sqlite through its adapter and through mod.ts, real second
// processes, and files exchanged with Bun and Deno.
import { after, test as nodeTest } from "node:test";
import { batchedTarget, defineSuite, type TestFn } from "./suite.ts";
import { processTests } from "./suite_process.ts";
import { betterTarget, nodeTarget } from "./targets.ts";
import { cleanup } from "./util.ts";
import { openKv } from "../mod.ts";
import { crossDriverTests, crossRuntimeTests } from "./suite_cross.ts";
import { readmeTests } from "./readme.ts";
import { cliTests } from "./suite_cli.ts";
import { exampleTests } from "./suite_examples.ts";
import { builtinTests } from "./suite_builtin.ts";
import { keyvTests } from "./suite_keyv.ts";
import { batchedCrashTests, crashTests } from "./suite_crash.ts";
import { cacheProcessTests } from "./suite_cache_process.ts";

const test: TestFn = (name, fn, options) => nodeTest(name, { skip: options?.skip ?? false }, fn);
const target = nodeTarget("node");
defineSuite(test, target);
defineSuite(test, batchedTarget(target));
defineSuite(test, betterTarget("better-sqlite3", "node"));
defineSuite(test, betterTarget("libsql", "node"));
builtinTests(test, openKv, "node:sqlite");
keyvTests(test);
processTests(test, target.raw);
crashTests(test, target);
batchedCrashTests(test, target);
cacheProcessTests(test, target);
crossRuntimeTests(test);
crossDriverTests(test);
readmeTests(test);
cliTests(test);
exampleTests(test);
after(cleanup);
