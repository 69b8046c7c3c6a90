/**
 * Builds the workspace (`pnpm build`) and packs every publishable package under packages/ with
 * `pnpm pack` — the tarballs `pnpm publish` would upload: `publishConfig` applied, `workspace:`
 * ranges replaced by versions. Used by `pnpm check:packages` (publint, attw) and by the test that
 * installs the tarballs into an app outside the workspace.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("..", import.meta.url));

/** One packed package. */
export interface PackedPackage {
  name: string;
  version: string;
  /** The package's directory in the workspace. */
  dir: string;
  /** Absolute path of the `.tgz`. */
  tarball: string;
  /** Paths inside the tarball (without the `package/` prefix). */
  files: string[];
}

/** Publishable packages: every directory under packages/ whose manifest is not `private`. */
export function publishableDirs(): string[] {
  return readdirSync(join(root, "packages"))
    .map((name) => join(root, "packages", name))
    .filter((dir) => {
      try {
        return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).private !== true;
      } catch {
        return false;
      }
    });
}

/** Builds the workspace and packs each publishable package into `destination`. */
export function packPackages(destination: string): PackedPackage[] {
  execFileSync("pnpm", ["build"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
  const dirs = publishableDirs();
  const filters = dirs.flatMap((dir) => ["--filter", `./${dir.slice(root.length)}`]);
  const json = execFileSync(
    "pnpm",
    ["--recursive", ...filters, "pack", "--pack-destination", destination, "--json"],
    { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 * 1024 * 1024 },
  );
  const packed = JSON.parse(json) as Array<{
    name: string;
    version: string;
    filename: string;
    files: Array<{ path: string }>;
  }>;
  return packed.map((p) => {
    const dir = dirs.find((d) => JSON.parse(readFileSync(join(d, "package.json"), "utf8")).name === p.name);
    if (dir === undefined) throw new Error(`pnpm packed ${p.name}, which is not under packages/`);
    return { name: p.name, version: p.version, dir, tarball: p.filename, files: p.files.map((f) => f.path) };
  });
}
