// PostgreSQL entry (Node): the shared suite's areas on openKvPostgres.
import { after, test as nodeTest } from "node:test";
import type { TestFn } from "./harness.ts";
import { pgTarget, stopPg } from "./pg_target.ts";
import { noPostgres } from "./pg_server.ts";
import { valueTests } from "./suite/values.ts";
import { ttlTests } from "./suite/ttl.ts";
import { writeTests } from "./suite/writes.ts";
import { queryTests, limitTests } from "./suite/query.ts";
import { tagTests } from "./suite/tags.ts";
import { transactionTests } from "./suite/transactions.ts";
import { namespaceTests } from "./suite/namespaces.ts";

const why = noPostgres();
const test: TestFn = (name, fn, options) => nodeTest(name, { skip: why ?? options?.skip ?? false }, fn);
const t = pgTarget();
const named: TestFn = (name, fn, options) => test(`${t.name}: ${name}`, fn, options);
valueTests(named, t);
ttlTests(named, t);
writeTests(named, t);
queryTests(named, t);
limitTests(named, t);
tagTests(named, t);
transactionTests(named, t);
namespaceTests(named, t);
after(stopPg);
