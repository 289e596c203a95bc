import { assert } from "./assert.ts";
import { memoize } from "../src/cache.ts";
import type { Target, TestFn } from "./harness.ts";
import { currentRuntime, runWorker } from "./suite_process.ts";
import { tempFile } from "./util.ts";

/** The cache across real processes on one file. */
export function cacheProcessTests(test: TestFn, t: Target): void {
  const rt = currentRuntime();

  test(`lease: four ${rt.name} processes asking for one missing key compute it once`, async () => {
    const path = tempFile();
    t.openKv(path).close();
    const runs = await Promise.all(Array.from({ length: 4 }, () => runWorker(rt, ["lease", path, "2000"])));
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const lines = runs.map((r) => r.lines[0]!);
    for (const line of lines) assert.match(line, /^forecast for Oslo\|waited [01]$/);
    using kv = t.openKv(path);
    assert.equal(kv.namespace("count").get("computations"), 1);
    assert.equal(lines.filter((l) => l.endsWith("waited 1")).length, 3, "three processes waited on the lease");
    assert.equal(kv.namespace("memoize").namespace("lease").count(), 0, "the lease was released");
  });

  test(`an L1 entry changed by another ${rt.name} process is not served after the task it changed in`, async () => {
    const path = tempFile();
    using kv = t.openKv(path);
    let calls = 0;
    const f = memoize((city: string) => `computed ${city} ${++calls}`, { kv, name: "f", memory: { max: 10 } });
    assert.equal(f("Oslo"), "computed Oslo 1");
    assert.equal(f("Oslo"), "computed Oslo 1");
    const r = await runWorker(rt, ["memo-set", path, f.key("Oslo")]);
    assert.deepEqual(r.lines, ["set"], r.stderr);
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.equal(f("Oslo"), "from another process");
    assert.equal(f.stats().memoryHits, 1);
  });
}
