// A Deno script that caches a slow computation across runs in a kvsqlite file,
// run with the narrowest permissions: read and write of its data folder only.
//   deno run --allow-read=data --allow-write=data examples/deno_script.ts 40
// (a published script imports "jsr:@kvsqlite/kvsqlite" and
// "jsr:@kvsqlite/kvsqlite/cache" instead of the relative paths)
import { openKv } from "../mod.ts";
import { memoize } from "../src/cache.ts";

using kv = openKv("data/script.db");
const fib = memoize(function fibonacci(n: number): number {
  let [a, b] = [0, 1];
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a;
}, { kv, ttl: 24 * 60 * 60_000 });

const n = Number(Deno.args[0] ?? 40);
const before = fib.stats().computes;
console.log(`fibonacci(${n}) = ${fib(n)} (${fib.stats().computes > before ? "computed" : "from the cache"})`);
console.log(`this script has run ${kv.incr("runs")} time(s)`);
