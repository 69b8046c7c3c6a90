import { createMemoryStore } from "@mandrill-kit/core";
import { runStoreContract } from "@mandrill-kit/core/testing";

runStoreContract({ name: "memory", open: () => createMemoryStore() });
