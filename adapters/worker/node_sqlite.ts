/**
 * The worker thread of `openKvAsync()` over node:sqlite: `src/async/worker.ts`
 * serving the store this adapter opens. Started by the client, never imported.
 *
 * @module
 */

import { openKv } from "../node_sqlite.ts";
import { serveStore } from "../../src/async/worker.ts";

serveStore(openKv);
