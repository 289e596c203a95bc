/**
 * `npm run check:publish`: what JSR will see. Type-checks and doc-lints the
 * `./deno` entry when `@db/sqlite` (a JSR package) resolves, and runs
 * `deno publish --dry-run`: on the checkout when it resolves, otherwise on a
 * temporary copy without the `./deno` entry, saying so. Any warning of the dry
 * run (JSR shows them on the package's page) fails the check, printed.
 */

import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const deno = join(root, "node_modules", ".bin", "deno");
const run = (args: string[], cwd = root) => spawnSync(deno, args, { cwd, encoding: "utf8" });
const fail = (what: string, r: { stdout: string; stderr: string }) => {
  console.error(`${what} failed:\n${r.stdout}\n${r.stderr}`);
  process.exit(1);
};
/** Fails on a dry run that failed or warned. */
const publish = (what: string, cwd = root) => {
  const r = run(["publish", "--dry-run", "--allow-dirty"], cwd);
  if (r.status !== 0) fail(what, r);
  const plain = (r.stdout + r.stderr).replaceAll(String.fromCharCode(27), "").replace(/\[[0-9;]*m/g, "");
  const warnings = plain.match(/^warning\[[^\]]+\]/gm);
  if (warnings) {
    fail(`${what} (${warnings.length} warning${warnings.length > 1 ? "s" : ""}: ${warnings.join(", ")})`, r);
  }
};

const probe = run(["check", "adapters/db_sqlite.ts"]);
const resolves = probe.status === 0;
if (resolves) {
  const lint = run(["doc", "--lint", "adapters/db_sqlite.ts"]);
  if (lint.status !== 0) fail("deno doc --lint adapters/db_sqlite.ts", lint);
  console.log("./deno: deno check and deno doc --lint passed");
  publish("deno publish --dry-run");
  console.log("deno publish --dry-run: passed on the checkout, without a warning");
} else if (/jsr|@db\/sqlite|Import .* failed|meta\.json/i.test(probe.stderr)) {
  // deno colours its output; the reason is read without the escape codes.
  const lines = probe.stderr.replaceAll(String.fromCharCode(27), "").replace(/\[[0-9;]*m/g, "").split("\n");
  const reason = (lines.find((l) => /failed|error/i.test(l)) ?? lines.find((l) => l.trim() !== ""))?.trim();
  console.log(`./deno: deno check and deno doc --lint skipped: @db/sqlite cannot be resolved (${reason})`);
  const copy = mkdtempSync(join(tmpdir(), "kvsqlite-publish-"));
  try {
    const config = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
    for (const item of config.publish.include as string[]) {
      cpSync(join(root, item), join(copy, item), { recursive: true });
    }
    rmSync(join(copy, "adapters", "db_sqlite.ts"));
    rmSync(join(copy, "adapters", "worker", "db_sqlite.ts"), { force: true });
    delete config.exports["./deno"];
    delete config.imports["@db/sqlite"];
    writeFileSync(join(copy, "deno.json"), JSON.stringify(config, null, 2));
    publish("deno publish --dry-run (copy without ./deno)", copy);
    console.log(
      "deno publish --dry-run: passed without a warning on a copy without the ./deno entry, since @db/sqlite cannot be resolved here",
    );
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
} else {
  fail("deno check adapters/db_sqlite.ts", probe);
}
