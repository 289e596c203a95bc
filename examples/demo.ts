// A first look at kvsqlite: a store on disk, TTL, prefix search, a transaction.
// Run it with `npm run demo`; run it twice to see the visit counter persist.
import { openKv } from "../mod.ts";

using kv = openKv("data/demo.db");

const visits = kv.incr("demo:visits");
console.log(`This demo has run ${visits} time(s) against data/demo.db`);

kv.set("session:42", { user: "ada", roles: new Set(["admin"]) }, { ttl: 30 * 60_000 });
kv.set("session:43", { user: "grace", roles: new Set(["dev"]) }, { ttl: 5 * 60_000 });
console.log("sessions:", kv.keys({ prefix: "session:" }));
console.log("session:42 =", kv.get("session:42"), `(expires in ${Math.round(kv.ttl("session:42")! / 1000)} s)`);

kv.transaction((tx) => {
  const balance = tx.get<number>("account:ada", 100);
  tx.set("account:ada", balance - 10);
  tx.set("account:grace", tx.get<number>("account:grace", 100) + 10);
});
console.log("accounts:", kv.entries({ prefix: "account:" }));

const cache = kv.namespace("cache");
cache.set("answer", 42, { ttl: 1000 });
console.log("namespaces:", kv.namespaces(), "cache has", cache.count(), "key(s)");
console.log("stats:", kv.stats());
