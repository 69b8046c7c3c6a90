/**
 * The store contract: the behaviour every `Store` adapter must have (jaredwray/keyv's test-suite is
 * the model), one file per capability, each usable alone, and {@link runStoreContract} running them
 * all. The caller passes its test API, so nothing here imports a test runner.
 */
import { credentialsContract } from "./credentials.js";
import type { StoreContractApi, StoreContractOptions } from "./helpers.js";
import { inboxBacklogContract } from "./inbox-backlog.js";
import { inboxIngestContract } from "./inbox-ingest.js";
import { inboxProcessingContract } from "./inbox-processing.js";
import { lifecycleContract } from "./lifecycle.js";
import { mandrillSyncContract } from "./mandrill-sync.js";
import { sendsContract } from "./sends.js";
import { suppressionsContract } from "./suppressions.js";

export type { StoreContractApi, StoreContractOptions };
export {
  credentialsContract,
  inboxBacklogContract,
  inboxIngestContract,
  inboxProcessingContract,
  lifecycleContract,
  mandrillSyncContract,
  sendsContract,
  suppressionsContract,
};

/**
 * Runs every capability's contract against fresh stores from `options.open`, under
 * `store contract: <name>`. Call it at the top level of a test file:
 *
 * ```ts
 * import * as vitest from "vitest";
 * runStoreContract(vitest, { name: "sqlite", open: () => openSqliteStore({ filename: ":memory:" }) });
 * ```
 */
export function runStoreContract(api: StoreContractApi, options: StoreContractOptions): void {
  api.describe(`store contract: ${options.name}`, () => {
    credentialsContract(api, options);
    suppressionsContract(api, options);
    mandrillSyncContract(api, options);
    inboxIngestContract(api, options);
    inboxProcessingContract(api, options);
    inboxBacklogContract(api, options);
    sendsContract(api, options);
    lifecycleContract(api, options);
  });
}
