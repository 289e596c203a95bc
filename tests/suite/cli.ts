import { assert } from "../assert.ts";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openKv } from "../../mod.ts";
import type { TestFn } from "../harness.ts";
import { SAMPLE } from "../fixtures/sample.ts";
import { cannotMount, mountTmpfs, tempDir } from "../util.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const CLI = join(root, "src", "cli.ts");
const RUNTIMES: [string, string, string[]][] = [
  ["node", join(root, "node_modules/.bin/node"), []],
  ["bun", join(root, "node_modules/.bin/bun"), []],
  ["deno", join(root, "node_modules/.bin/deno"), ["run", "-A"]],
];

function cli(
  rt: [string, string, string[]],
  args: string[],
  stdin = "",
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(rt[1], [...rt[2], CLI, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (err += c));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out, err }));
    child.stdin.end(stdin);
  });
}

/** The CLI, spawned on every runtime. */
export function cliTests(test: TestFn): void {
  for (const rt of RUNTIMES) {
    test(`cli on ${rt[0]}: get, set, keys, ttl, del and their exit statuses`, async () => {
      const file = join(tempDir(), "cli.db");
      assert.equal((await cli(rt, [file, "set", "user:1", "ada"])).code, 0);
      assert.equal((await cli(rt, [file, "set", "user:2", '{"n":[1,2]}', "--json", "--ttl", "60000"])).code, 0);
      assert.equal((await cli(rt, [file, "set", "x", "in ns", "--namespace", "other"])).code, 0);
      assert.deepEqual(await cli(rt, [file, "get", "user:1"]), { code: 0, out: "ada\n", err: "" });
      assert.equal((await cli(rt, [file, "get", "user:2", "--json"])).out, '{"n":[1,2]}\n');
      assert.equal((await cli(rt, [file, "keys", "--prefix", "user:"])).out, "user:1\nuser:2\n");
      assert.equal((await cli(rt, [file, "keys", "--glob", "*:2", "--json"])).out, '["user:2"]\n');
      assert.equal((await cli(rt, [file, "count"])).out, "2\n");
      assert.equal((await cli(rt, [file, "namespaces"])).out, "other\n");
      assert.equal((await cli(rt, [file, "get", "x", "--namespace", "other"])).out, "in ns\n");
      const ttl = Number((await cli(rt, [file, "ttl", "user:2"])).out);
      assert.ok(ttl > 50_000 && ttl <= 60_000, String(ttl));
      assert.equal((await cli(rt, [file, "ttl", "user:1"])).out, "never\n");
      assert.equal((await cli(rt, [file, "persist", "user:2"])).code, 0);
      assert.equal((await cli(rt, [file, "rename", "user:2", "user:3"])).code, 0);
      assert.equal((await cli(rt, [file, "get", "missing"])).code, 1, "a missing key is status 1");
      assert.equal((await cli(rt, [file, "del", "user:1", "user:3"])).code, 0);
      assert.equal((await cli(rt, [file, "del", "user:1"])).code, 1);
      assert.equal((await cli(rt, [file, "check"])).out, "ok\n");
      const usage = await cli(rt, [file, "frobnicate"]);
      assert.equal(usage.code, 2);
      assert.match(usage.err, /unknown command/);
      assert.equal((await cli(rt, [file, "set", "k"])).code, 2, "a missing argument is a usage error");
      assert.equal((await cli(rt, [file, "keys", "--prefix", "a", "--like", "b"])).code, 2);
      assert.equal((await cli(rt, [])).code, 2);
      const stats = JSON.parse((await cli(rt, [file, "stats", "--json"])).out);
      assert.equal(typeof stats.pages, "number");
    });
  }

  test(
    "cli: the commands that only read work on a file of a read-only file system; a write says why it cannot",
    async () => {
      const mnt = mountTmpfs("4m");
      try {
        const file = join(mnt.dir, "ro.db");
        {
          using kv = openKv(file);
          kv.set("user:1", "ada", { tags: ["t"] });
          kv.namespace("other").set("x", 1);
        }
        mnt.readOnly();
        for (const rt of RUNTIMES) {
          assert.deepEqual(await cli(rt, [file, "get", "user:1"]), { code: 0, out: "ada\n", err: "" }, rt[0]);
          assert.equal((await cli(rt, [file, "keys", "--tag", "t"])).out, "user:1\n", rt[0]);
          assert.equal((await cli(rt, [file, "count"])).out, "1\n", rt[0]);
          assert.equal((await cli(rt, [file, "namespaces"])).out, "other\n", rt[0]);
          assert.equal((await cli(rt, [file, "check"])).out, "ok\n", rt[0]);
          assert.match((await cli(rt, [file, "export"])).out, /"key":"user:1"/, rt[0]);
          const write = await cli(rt, [file, "set", "user:2", "bob"]);
          assert.equal(write.code, 3, rt[0]);
          assert.match(
            write.err,
            /KvReadOnlyError: Cannot open ".*ro\.db" for writing: it is on a read-only file system \(EROFS\)/,
          );
        }
      } finally {
        mnt.unmount();
      }
    },
    { skip: cannotMount() },
  );

  test("cli: export on one runtime then import on another gives an identical store, every value type, expiry and tags", async () => {
    const dir = tempDir();
    const source = join(dir, "source.db");
    {
      using kv = openKv(source);
      kv.setMany(SAMPLE);
      kv.set("expiring", { soon: true }, { expiresAt: Date.now() + 3_600_000, tags: ["t1", "t2"] });
    }
    const runs = RUNTIMES.map((rt, i) => [rt, RUNTIMES[(i + 1) % RUNTIMES.length]!] as const);
    for (const [exporter, importer] of runs) {
      const dump = await cli(exporter, [source, "export"]);
      assert.equal(dump.code, 0, dump.err);
      const target = join(dir, `copy-${exporter[0]}-${importer[0]}.db`);
      const imp = await cli(importer, [target, "import"], dump.out);
      assert.equal(imp.code, 0, imp.err);
      using a = openKv(source);
      using b = openKv(target);
      assert.deepEqual(
        [...b.list()].map((e) => [e.key, e.value, e.expiresAt]),
        [...a.list()].map((e) => [e.key, e.value, e.expiresAt]),
      );
      assert.deepEqual(b.tags("expiring"), ["t1", "t2"]);
      assert.equal((await cli(exporter, [target, "export"])).out, dump.out, `${exporter[0]} -> ${importer[0]}`);
    }
  });
}
