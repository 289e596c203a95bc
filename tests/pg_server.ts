/**
 * PostgreSQL servers for the tests: a primary (and a streaming standby) of
 * Debian's PostgreSQL 15, on loopback ports, in temp folders, started by the
 * tests and stopped by pid. As root, the server runs as the `postgres` user
 * (PostgreSQL refuses root).
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BIN = "/usr/lib/postgresql/15/bin";

const proc = (globalThis as unknown as {
  process: { platform: string; getuid?: () => number; env: Record<string, string | undefined> };
}).process;

/** Why no PostgreSQL server can be started here, or undefined when one can. */
export function noPostgres(): string | undefined {
  if (proc.platform !== "linux") return "the tests start Debian's PostgreSQL 15, on Linux";
  if (!existsSync(join(BIN, "postgres"))) {
    return `${BIN}/postgres is missing (apt-get install -y postgresql-15; .ci/run does it)`;
  }
  if (proc.getuid?.() === 0 && postgresUser() === undefined) return "running as root, and there is no postgres user";
  return undefined;
}

function postgresUser(): { uid: number; gid: number } | undefined {
  const r = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
  const g = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
  if (r.status !== 0 || g.status !== 0) return undefined;
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** The command that runs `bin` as the server's user: itself, or through setpriv as root. */
function asServerUser(bin: string, args: string[]): [string, string[]] {
  if (proc.getuid?.() !== 0) return [join(BIN, bin), args];
  return ["setpriv", ["--reuid=postgres", "--regid=postgres", "--clear-groups", join(BIN, bin), ...args]];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A node-postgres pool, as far as ending it goes. */
interface EndablePool {
  totalCount: number;
  end(): Promise<void>;
  on(event: "error" | "remove", listener: () => void): unknown;
}

/**
 * Ends a node-postgres pool and waits until each of its connections is closed
 * (at most 5 s). `pool.end()` resolves as soon as it has asked its clients to
 * end, before their sockets close: a server stopped right after would still
 * find them open and end them with 57P01, which an idle client reports as an
 * 'error' event of the pool, fatal without a listener.
 */
export async function endPool(pool: EndablePool): Promise<void> {
  pool.on("error", () => {}); // the pool is ending: a goodbye from the server changes nothing
  const open = pool.totalCount;
  let removed = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const closed = new Promise<void>((resolve) => {
    if (open === 0) return resolve();
    pool.on("remove", () => ++removed >= open && resolve());
    timer = setTimeout(resolve, 5_000);
  });
  await pool.end();
  await closed;
  clearTimeout(timer);
}

/** A running server. */
export interface PgServer {
  host: string;
  port: number;
  user: string;
  /** A connection string to its `postgres` database. */
  url: string;
  dir: string;
  process: ChildProcess;
  /** Stops it by its pid (SIGKILL: the machine is lost; otherwise a fast shutdown) and waits for it to exit. */
  stop(signal?: "SIGKILL" | "SIGINT"): Promise<void>;
  /** Promotes a standby to primary. */
  promote(): void;
  /** Starts the server again on its folder and port (after a kill). */
  restart(): Promise<PgServer>;
}

function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), "kvsqlite-pg-"));
  const user = proc.getuid?.() === 0 ? postgresUser() : undefined;
  if (user !== undefined) chownSync(dir, user.uid, user.gid);
  return dir;
}

function run(bin: string, args: string[]): void {
  const [command, argv] = asServerUser(bin, args);
  const r = spawnSync(command, argv, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(" ")} failed: ${r.stderr}${r.stdout}`);
}

async function serve(dir: string, port: number, extra: string[]): Promise<PgServer> {
  const data = join(dir, "data");
  const [command, argv] = asServerUser("postgres", [
    "-D",
    data,
    "-p",
    String(port),
    "-k",
    dir,
    "-c",
    "listen_addresses=127.0.0.1",
    ...extra,
  ]);
  const child = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout!.on("data", (c) => (log += c));
  child.stderr!.on("data", (c) => (log += c));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 30_000;
  while (!/ready to accept (read-only )?connections/.test(log)) {
    if (child.exitCode !== null) throw new Error(`postgres exited: ${log}`);
    if (Date.now() > deadline) throw new Error(`postgres did not start: ${log}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    host: "127.0.0.1",
    port,
    user: "kv",
    url: `postgres://kv@127.0.0.1:${port}/postgres`,
    dir,
    process: child,
    async stop(signal = "SIGINT") {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        await exited;
      }
      if (signal === "SIGINT") rmSync(dir, { recursive: true, force: true });
    },
    promote() {
      run("pg_ctl", ["promote", "-D", data, "-w"]);
    },
    restart: () => serve(dir, port, extra),
  };
}

/** Starts a primary: `initdb` (user `kv`, trust on loopback, C locale), then `postgres`. */
export async function startPrimary(options: { synchronousStandby?: boolean } = {}): Promise<PgServer> {
  const dir = folder();
  run("initdb", ["-D", join(dir, "data"), "-U", "kv", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
  const port = await freePort();
  return await serve(dir, port, [
    "-c",
    "wal_level=replica",
    "-c",
    "max_wal_senders=4",
    ...(options.synchronousStandby ? ["-c", "synchronous_standby_names=*"] : []),
  ]);
}

/** Starts a streaming standby of `primary` (`pg_basebackup -R`). */
export async function startStandby(primary: PgServer): Promise<PgServer> {
  const dir = folder();
  run("pg_basebackup", [
    "-D",
    join(dir, "data"),
    "-h",
    primary.host,
    "-p",
    String(primary.port),
    "-U",
    primary.user,
    "-R",
    "-X",
    "stream",
  ]);
  const port = await freePort();
  // After its primary is gone, a standby retries every wal_retrieve_retry_interval (5 s by default) and notices a
  // promotion only then: 100 ms lets it take over at once.
  return await serve(dir, port, ["-c", "wal_retrieve_retry_interval=100ms"]);
}
