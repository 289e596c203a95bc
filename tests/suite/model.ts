import { assert } from "../assert.ts";
import fc from "fast-check";
import type { AnyKv, Target, TestFn } from "../harness.ts";
import { manualClock, tempFile } from "../util.ts";
import type { KvMethods, Mode } from "../../src/api.ts";

/** One row as the model holds it: a row may be expired and not yet purged, as in the file. */
interface Row {
  value: unknown;
  expiresAt: number | null;
  tags: string[];
}

/** The model: one Map per namespace ("" is the root), and the clock. */
interface Model {
  spaces: Map<string, Map<string, Row>>;
  clock: ReturnType<typeof manualClock>;
}

/** The real side: the store (the synchronous one, or the async client: every call is awaited), reopened on demand. */
interface Real {
  kv: AnyKv;
  reopen(): Promise<void>;
}

const KEYS = ["a", "a:1", "a:2", "b", "b:é", "c_%", "\u{1F600}"];
const SPACES = ["", "n1"];
const VALUES = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer({ min: -1000, max: 1000 }),
  fc.double({ noNaN: false }),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 3, noNullPrototype: true }),
  fc.array(fc.oneof(fc.string({ maxLength: 3 }), fc.integer()), { maxLength: 4 }),
  fc.date({ noInvalidDate: true }),
  fc.uint8Array({ maxLength: 6 }),
);

const bytes = (s: string) => new TextEncoder().encode(s);
function byteOrder(a: string, b: string): number {
  const x = bytes(a), y = bytes(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

function space(m: Model, ns: string): Map<string, Row> {
  let s = m.spaces.get(ns);
  if (s === undefined) m.spaces.set(ns, s = new Map());
  return s;
}
const isLive = (m: Model, row: Row | undefined): row is Row =>
  row !== undefined && (row.expiresAt === null || row.expiresAt > m.clock.now());
const store = (r: Real, ns: string): KvMethods<Mode> => (ns === "" ? r.kv : r.kv.namespace(ns));
const liveKeys = (m: Model, ns: string) =>
  [...space(m, ns)].filter(([, row]) => isLive(m, row)).map(([k]) => k).sort(byteOrder);

type Cmd = fc.AsyncCommand<Model, Real>;
const cmd = (name: string, run: (m: Model, r: Real) => Promise<void> | void): Cmd => ({
  check: () => true,
  run: async (m, r) => await run(m, r),
  toString: () => name,
});

const key = fc.constantFrom(...KEYS);
const ns = fc.constantFrom(...SPACES);
const ttl = fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined });
const TAG_NAMES = ["red", "blue", "user:1"];
const tagSet = fc.option(fc.subarray(TAG_NAMES), { nil: undefined });
const tagName = fc.constantFrom(...TAG_NAMES);

const commands = [
  fc.record({
    ns,
    key,
    value: VALUES,
    ttl,
    cond: fc.constantFrom("none", "ifAbsent", "ifPresent", "keepTtl"),
    tags: tagSet,
  }).map(
    ({ ns, key, value, ttl, cond, tags }) =>
      cmd(`set(${ns}/${key}, ${String(value)}, ttl ${ttl}, ${cond}, tags ${tags})`, async (m, r) => {
        const rows = space(m, ns);
        const old = rows.get(key);
        const live = isLive(m, old);
        const options: Record<string, unknown> = {};
        if (cond !== "none") options[cond] = true;
        if (ttl !== undefined && cond !== "keepTtl") options.ttl = ttl;
        if (tags !== undefined) options.tags = tags;
        const expected = cond === "ifAbsent" ? !live : cond === "ifPresent" ? live : true;
        assert.equal(await store(r, ns).set(key, value, options), expected);
        if (expected) {
          const expiresAt = cond === "keepTtl"
            ? (live ? old.expiresAt : null)
            : ttl === undefined
            ? null
            : m.clock.now() + ttl;
          rows.set(key, { value, expiresAt, tags: [...(tags ?? [])].sort() });
        }
      }),
  ),
  fc.record({ ns, key }).map(({ ns, key }) =>
    cmd(`get(${ns}/${key})`, async (m, r) => {
      const row = space(m, ns).get(key);
      assert.deepEqual(await store(r, ns).get(key), isLive(m, row) ? row.value : undefined);
      assert.equal(
        await store(r, ns).ttl(key),
        !isLive(m, row) ? undefined : row.expiresAt === null ? Infinity : row.expiresAt - m.clock.now(),
      );
    })
  ),
  fc.record({ ns, key }).map(({ ns, key }) =>
    cmd(`delete(${ns}/${key})`, async (m, r) => {
      const rows = space(m, ns);
      const live = isLive(m, rows.get(key));
      assert.equal(await store(r, ns).delete(key), live);
      if (live) rows.delete(key);
    })
  ),
  fc.record({ ns, key }).map(({ ns, key }) =>
    cmd(`take(${ns}/${key})`, async (m, r) => {
      const rows = space(m, ns);
      const row = rows.get(key);
      assert.deepEqual(await store(r, ns).take(key), isLive(m, row) ? row.value : undefined);
      rows.delete(key);
    })
  ),
  fc.record({ ns, key, by: fc.integer({ min: -5, max: 5 }), ttl }).map(({ ns, key, by, ttl }) =>
    cmd(`incr(${ns}/${key}, ${by}, ttl ${ttl})`, async (m, r) => {
      const rows = space(m, ns);
      const row = rows.get(key);
      const options = ttl === undefined ? undefined : { ttl };
      if (!isLive(m, row)) {
        assert.equal(await store(r, ns).incr(key, by, options), by);
        rows.set(key, { value: by, expiresAt: ttl === undefined ? null : m.clock.now() + ttl, tags: [] });
      } else if (typeof row.value === "bigint") {
        assert.equal(await store(r, ns).incr(key, by, options), row.value + BigInt(by));
        row.value = row.value + BigInt(by);
      } else if (
        typeof row.value === "number" && (!Number.isInteger(row.value) || Number.isSafeInteger(row.value + by))
      ) {
        assert.equal(await store(r, ns).incr(key, by, options), row.value + by);
        row.value = row.value + by;
      } else {
        await assert.rejects(
          async () => await store(r, ns).incr(key, by, options),
          typeof row.value === "number" ? RangeError : TypeError,
        );
      }
    })
  ),
  fc.record({ ns, from: key, to: key, overwrite: fc.boolean() }).map(({ ns, from, to, overwrite }) =>
    cmd(`rename(${ns}/${from}, ${to}, ${overwrite})`, async (m, r) => {
      const rows = space(m, ns);
      const source = rows.get(from);
      const expected = isLive(m, source) && (from === to || overwrite || !isLive(m, rows.get(to)));
      assert.equal(await store(r, ns).rename(from, to, { overwrite }), expected);
      if (expected && from !== to) {
        rows.delete(from);
        rows.set(to, source!);
      }
    })
  ),
  fc.record({ ns, key, ttl: fc.option(fc.integer({ min: 1, max: 50 }), { nil: null }) }).map(({ ns, key, ttl }) =>
    cmd(`${ttl === null ? "persist" : `expire ${ttl}`}(${ns}/${key})`, async (m, r) => {
      const row = space(m, ns).get(key);
      const live = isLive(m, row);
      assert.equal(ttl === null ? await store(r, ns).persist(key) : await store(r, ns).expire(key, ttl), live);
      if (live) row.expiresAt = ttl === null ? null : m.clock.now() + ttl;
    })
  ),
  fc.record({ ns, key, right: fc.boolean(), value: VALUES }).map(({ ns, key, right, value }) =>
    cmd(`ifVersion(${ns}/${key}, ${right ? "current" : "stale"})`, async (m, r) => {
      const rows = space(m, ns);
      const live = isLive(m, rows.get(key));
      const entry = await store(r, ns).getEntry(key);
      assert.equal(entry !== undefined, live);
      const version = right ? (entry?.version ?? null) : entry === undefined ? 12345 : entry.version + 1_000_000_000;
      assert.equal(await store(r, ns).set(key, value, { ifVersion: version }), right);
      // Like any set without ttl, a conditional write leaves the key without expiry.
      if (right) rows.set(key, { value, expiresAt: null, tags: [] });
    })
  ),
  fc.record({
    ns,
    prefix: fc.constantFrom(undefined, "", "a", "a:", "b", "z"),
    reverse: fc.boolean(),
    limit: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
    after: fc.option(key, { nil: undefined }),
  }).map(({ ns, prefix, reverse, limit, after }) =>
    cmd(`keys(${ns}, ${prefix}, reverse ${reverse}, limit ${limit}, after ${after})`, async (m, r) => {
      let expected = liveKeys(m, ns).filter((k) => prefix === undefined || k.startsWith(prefix));
      if (reverse) expected.reverse();
      if (after !== undefined) {
        expected = expected.filter((k) => (reverse ? byteOrder(k, after) < 0 : byteOrder(k, after) > 0));
      }
      if (limit !== undefined) expected = expected.slice(0, limit);
      const query = prefix === undefined ? undefined : { prefix };
      const options = { reverse, ...(limit === undefined ? {} : { limit }), ...(after === undefined ? {} : { after }) };
      assert.deepEqual(await store(r, ns).keys(query, options), expected);
      assert.deepEqual((await Array.fromAsync(store(r, ns).list(query, options))).map((e) => e.key), expected);
      if (limit === undefined && after === undefined) assert.equal(await store(r, ns).count(query), expected.length);
    })
  ),
  fc.record({ ns, tag: tagName, remove: fc.boolean() }).map(({ ns, tag, remove }) =>
    cmd(`${remove ? "deleteMany" : "keys"}({ tag: ${tag} }) in ${ns}`, async (m, r) => {
      const rows = space(m, ns);
      const expected = liveKeys(m, ns).filter((k) => rows.get(k)!.tags.includes(tag));
      if (remove) {
        assert.equal(await store(r, ns).deleteMany({ tag }), expected.length);
        for (const k of expected) rows.delete(k);
      } else {
        assert.deepEqual(await store(r, ns).keys({ tag }), expected);
        assert.equal(await store(r, ns).count({ tag }), expected.length);
      }
    })
  ),
  fc.record({ ns, key }).map(({ ns, key }) =>
    cmd(`tags(${ns}/${key})`, async (m, r) => {
      const row = space(m, ns).get(key);
      assert.deepEqual(await store(r, ns).tags(key), isLive(m, row) ? row.tags : undefined);
    })
  ),
  fc.integer({ min: 1, max: 40 }).map((ms) =>
    cmd(`advance(${ms})`, (m) => {
      m.clock.advance(ms);
    })
  ),
  fc.constant(cmd("purgeExpired()", async (m, r) => {
    for (const [name, rows] of m.spaces) {
      const expired = [...rows].filter(([, row]) => !isLive(m, row)).map(([k]) => k);
      for (const k of expired) rows.delete(k);
      assert.equal(await store(r, name).purgeExpired(), expired.length, name);
    }
  })),
  fc.constant(cmd("reopen()", (_m, r) => r.reopen())),
];

/** How many runs and steps: bounded in `npm test`, long with KVSQLITE_LONG=1. */
export function modelBudget(): { runs: number; steps: number } {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
  return env.KVSQLITE_LONG === "1" ? { runs: Number(env.KVSQLITE_RUNS ?? 1000), steps: 200 } : { runs: 60, steps: 60 };
}

/**
 * The store against a Map model under a manual clock: random sequences of
 * writes, conditional writes, reads, listings, TTL changes, renames,
 * counters, purges, namespaces and reopening, each result compared.
 */
export function modelTests(test: TestFn, t: Target): void {
  const budget = modelBudget();
  // Each run and each reopen starts a worker thread for the async client
  // (about 60 ms): a third of the runs keeps its share of npm test in bounds.
  const runs = t.async ? Math.ceil(budget.runs / 3) : budget.runs;
  const steps = budget.steps;
  test(`the store agrees with a Map model over ${runs} random runs of up to ${steps} steps`, async () => {
    let executed = 0;
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: steps, size: "max" }), async (cmds) => {
        const path = tempFile();
        const clock = manualClock();
        const real: Real = {
          kv: await t.open(path, { now: clock.now }),
          async reopen() {
            await this.kv.close();
            this.kv = await t.open(path, { now: clock.now });
          },
        };
        try {
          await fc.asyncModelRun(() => ({ model: { spaces: new Map(), clock }, real }), cmds);
          executed += [...cmds].length;
        } finally {
          await real.kv.close();
        }
      }),
      { numRuns: runs },
    );
    console.log(`${t.name}: model test ran ${executed} steps`);
    assert.ok(executed > runs, "the runs executed commands");
  });
}
