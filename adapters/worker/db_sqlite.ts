/**
 * The worker thread of `openKvAsync()` over @db/sqlite: `src/async/worker.ts`
 * serving the store this adapter opens. Started by the client, never imported.
 *
 * @module
 */

import { openKv } from "../db_sqlite.ts";
import { serveStore } from "../../src/async/worker.ts";

serveStore(openKv);
