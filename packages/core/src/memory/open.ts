/** `createMemoryStore()`: the whole {@link Store} in the process's memory. */
import type { Store } from "../store.js";
import { memoryCredentials } from "./credentials.js";
import { memoryInbox } from "./inbox.js";
import { memorySends } from "./sends.js";
import { createState, memoryRunner } from "./state.js";
import { memorySuppressions } from "./suppressions.js";

/** Options of {@link createMemoryStore}. None yet; the object is accepted for symmetry with other stores. */
export type MemoryStoreOptions = Record<string, never>;

/**
 * A complete in-memory {@link Store}: for tests, examples and single-process tools. Nothing survives
 * the process. Same behaviour as the SQLite and PostgreSQL stores (it passes the same contract suite).
 */
export function createMemoryStore(_options: MemoryStoreOptions = {}): Store {
  const state = createState();
  const run = memoryRunner(state);
  return {
    kind: "memory",
    credentials: memoryCredentials(state, run),
    suppressions: memorySuppressions(state, run),
    inbox: memoryInbox(state, run),
    sends: memorySends(state, run),
    migrate: () => run("migrate", () => undefined),
    close: async () => {
      state.closed = true;
    },
  };
}
