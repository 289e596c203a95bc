/**
 * The worker thread of `openKvAsync()` over better-sqlite3 and libsql: `src/async/worker.ts`
 * serving the store this adapter opens. Started by the client, never imported.
 *
 * @module
 */

import { openKv } from "../better_sqlite3.ts";
import { serveStore } from "../../src/async/worker.ts";

serveStore(openKv);
