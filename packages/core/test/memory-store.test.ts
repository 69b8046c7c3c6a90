import { createMemoryStore } from "@mandrill-kit/core";
import { runStoreContract } from "@mandrill-kit/core/testing";
import * as vitest from "vitest";

runStoreContract(vitest, { name: "memory", open: () => createMemoryStore() });
