import { defineConfig } from "vitest/config";

// `pnpm test:reliability` runs every scenario at the size of issue 8 ("full"); the root config picks
// the same files up at the bounded CI slice. MK_RELIABILITY_SIZE=ci (or per-scenario variables, see
// test/reliability/sizes.ts) shrinks a local run.
export default defineConfig({
  test: {
    include: ["test/reliability/**/*.test.ts"],
    env: { MK_RELIABILITY_SIZE: process.env.MK_RELIABILITY_SIZE ?? "full" },
    testTimeout: 20 * 60_000,
    hookTimeout: 5 * 60_000,
    pool: "forks",
    // One scenario at a time: the soak's figures are the load one server process takes (a scenario next to
    // it would share the CPU), and the crash test spawns servers.
    fileParallelism: false,
    reporters: ["default"],
  },
});
