/**
 * `pnpm check:packages`: packs every publishable package as `pnpm publish` would and lints each
 * tarball with publint (`--strict`: warnings fail too) and Are the Types Wrong (`attw`). Exits 1 on any
 * problem. `.ci/run` runs it.
 *
 * attw runs with `--profile esm-only`: the packages are ESM only (`"type": "module"`, `exports`
 * without a `require` condition) and need Node ≥ 20.19, where `require()` of ESM works. The profile
 * skips the two resolutions that cannot apply to such a package — `node10` (no `exports` support at
 * all) and `node16` from CommonJS (which attw reports as "ESM, dynamic import only") — and still
 * fails on every problem under `node16` from ESM and `bundler`.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packPackages, root } from "./pack-packages.js";

const bin = (name: string) => join(root, "node_modules", ".bin", name);
const destination = mkdtempSync(join(tmpdir(), "mk-check-packages-"));
let failures = 0;
try {
  for (const pkg of packPackages(destination)) {
    for (const [tool, args] of [
      ["publint", ["--strict", pkg.tarball]],
      ["attw", ["--profile", "esm-only", "--no-color", pkg.tarball]],
    ] as const) {
      const run = spawnSync(bin(tool), args, { encoding: "utf8" });
      const ok = run.status === 0;
      if (!ok) failures += 1;
      console.log(`${ok ? "ok  " : "FAIL"} ${tool} ${pkg.name}`);
      if (!ok) console.log(`${run.stdout}${run.stderr}`);
    }
  }
} finally {
  rmSync(destination, { recursive: true, force: true });
}
if (failures > 0) {
  console.error(`${failures} check(s) failed`);
  process.exit(1);
}
