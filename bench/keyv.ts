/**
 * `npm run bench:keyv`: Keyv over KeyvKvsqlite beside Keyv over @keyv/sqlite,
 * the same workload (get, set, getMany of 100 over 1,000 keys, awaited),
 * interleaved rounds, medians. Node.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Keyv from "keyv";
import KeyvSqlite from "@keyv/sqlite";
import { KeyvKvsqlite } from "../src/keyv.ts";
import { rateAsync, roundMedians } from "./measure.ts";

const quick = process.argv.includes("--quick");
const ROUNDS = quick ? 3 : 5;
const SLICE = quick ? 60 : 300;
const KEYS = 1000;
const dir = mkdtempSync(join(tmpdir(), "kvsqlite-bench-keyv-"));
const value = { name: "user", roles: ["reader"], n: 42 };

const stores: Record<string, Keyv> = {
  "Keyv + KeyvKvsqlite": new Keyv({ store: new KeyvKvsqlite(join(dir, "kvsqlite.db")) }),
  "Keyv + @keyv/sqlite": new Keyv({ store: new KeyvSqlite({ uri: `sqlite://${join(dir, "keyv.sqlite")}` }) }),
};
for (const keyv of Object.values(stores)) for (let i = 0; i < KEYS; i++) await keyv.set(`k${i}`, value);
const many = Array.from({ length: 100 }, (_, i) => `k${i * 7}`);
const ops: Record<string, (keyv: Keyv, i: number) => Promise<unknown>> = {
  get: (keyv, i) => keyv.get(`k${i % KEYS}`),
  set: (keyv, i) => keyv.set(`k${i % KEYS}`, value),
  "getMany (100)": (keyv) => keyv.getMany(many),
};
const names = Object.keys(stores);
const rates: Record<string, Map<string, number>> = {};
for (const [op, fn] of Object.entries(ops)) {
  rates[op] = await roundMedians(names, ROUNDS, (name) => rateAsync((i) => fn(stores[name]!, i), SLICE, { chunk: 1 }));
}
console.log(`### Keyv storage adapters${quick ? " (quick)" : ""}: node ${process.versions.node}, ops/s, medians\n`);
console.log("| operation | Keyv + KeyvKvsqlite | Keyv + @keyv/sqlite | ratio |\n| --- | ---: | ---: | ---: |");
const report: Record<string, Record<string, number>> = {};
for (const [op, byStore] of Object.entries(rates)) {
  const a = byStore.get("Keyv + KeyvKvsqlite")!, b = byStore.get("Keyv + @keyv/sqlite")!;
  report[op] = { kvsqlite: a, keyvSqlite: b };
  console.log(
    `| ${op} | ${Math.round(a).toLocaleString("en-US")} | ${Math.round(b).toLocaleString("en-US")} | ${
      (a / b).toFixed(2)
    } |`,
  );
}
for (const keyv of Object.values(stores)) await keyv.disconnect();
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify(report));
