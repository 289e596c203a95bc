// Node entry: node:sqlite through its adapter and through mod.ts, real second
// processes, and files exchanged with Bun and Deno.
import { after, test } from "node:test";
import { batchedTarget, defineSuite } from "./suite.ts";
import { processTests } from "./suite_process.ts";
import { nodeTarget } from "./targets.ts";
import { cleanup } from "./util.ts";
import { openKv } from "../mod.ts";
import { crossRuntimeTests } from "./suite_cross.ts";
import { builtinTests } from "./suite_builtin.ts";
import { batchedCrashTests, crashTests } from "./suite_crash.ts";
import { cacheProcessTests } from "./suite_cache_process.ts";

const target = nodeTarget("node");
defineSuite(test, target);
defineSuite(test, batchedTarget(target));
builtinTests(test, openKv, "node:sqlite");
processTests(test, target.raw);
crashTests(test, target);
batchedCrashTests(test, target);
cacheProcessTests(test, target);
crossRuntimeTests(test);
after(cleanup);
