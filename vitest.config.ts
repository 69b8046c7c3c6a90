import { defineConfig } from "vitest/config";

// .ci/run sets MK_TEST_REPORT to a path to also get a JSON report (for its one-line summary).
const report = process.env.MK_TEST_REPORT;

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "examples/*/test/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    reporters: report ? ["default", ["json", { outputFile: report }]] : ["default"],
  },
});
