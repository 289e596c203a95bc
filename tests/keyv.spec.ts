// @keyv/test-suite, unchanged, against KeyvKvsqlite: it is written for vitest,
// so this file runs under vitest (npm run test:keyv), on Node 24.
import * as test from "vitest";
import keyvTestSuite, { keyvIteratorTests } from "@keyv/test-suite";
import Keyv from "keyv";
import { KeyvKvsqlite } from "../src/keyv.ts";
import { tempFile } from "./util.ts";

const store = () => new KeyvKvsqlite(tempFile());
keyvTestSuite(test, Keyv, store);
keyvIteratorTests(test, Keyv, store);
