import { test as nodeTest } from "node:test";
import { defineSuite, batchedTarget, type TestFn } from "./suite.ts";
import { asyncTarget, nodeTarget, betterTarget } from "./targets.ts";
const test: TestFn = (name, fn, options) => nodeTest(name, { skip: options?.skip ?? false }, fn);
const which = process.env.WHICH ?? "node";
const base = which === "node" ? nodeTarget("node") : betterTarget(which as "libsql", "node");
defineSuite(test, process.env.BATCHED ? asyncTarget(batchedTarget(base)) : asyncTarget(base));
