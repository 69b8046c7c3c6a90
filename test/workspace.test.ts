import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));

interface PackageJson {
  name: string;
  private?: boolean;
  type?: string;
  engines?: { node?: string };
  exports?: Record<string, { types: string; default: string }>;
  publishConfig?: { exports?: Record<string, { types: string; default: string }> };
  dependencies?: Record<string, string>;
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, "utf8")) as T;
const packages = readdirSync(join(root, "packages")).map((dir) => ({
  dir: join(root, "packages", dir),
  pkg: readJson<PackageJson>(join(root, "packages", dir, "package.json")),
}));

describe("workspace", () => {
  it("pins pnpm and Node as the README says", () => {
    const pkg = readJson<{ packageManager: string; engines: { node: string } }>(join(root, "package.json"));
    expect(pkg.packageManager).toBe("pnpm@12.4.2");
    expect(pkg.engines.node).toBe(">=20.19");
  });

  it.each(packages)("$pkg.name is ESM, requires Node ≥ 20.19 and has a README", ({ dir, pkg }) => {
    expect(pkg.type).toBe("module");
    expect(pkg.engines?.node).toBe(">=20.19");
    expect(existsSync(join(dir, "README.md"))).toBe(true);
  });

  it.each(packages)("$pkg.name exports point at files that exist, with types first", ({ dir, pkg }) => {
    expect(pkg.exports).toBeDefined();
    for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
      expect(Object.keys(target)[0], subpath).toBe("types");
      expect(existsSync(join(dir, target.default)), `${pkg.name} ${subpath} → ${target.default}`).toBe(true);
      const published = pkg.publishConfig?.exports?.[subpath];
      expect(published, `${pkg.name} publishes ${subpath}`).toBeDefined();
      expect(published?.default).toMatch(/^\.\/dist\/.+\.js$/);
    }
  });

  it("lists every package in the root README", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    for (const { pkg } of packages) expect(readme, pkg.name).toContain(`\`${pkg.name}\``);
  });

  it("gives the README's two commands scripts that exist", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    expect(readme).toContain("pnpm install && pnpm start");
    expect(readme).toContain("pnpm install && pnpm test");
    const scripts = readJson<{ scripts: Record<string, string> }>(join(root, "package.json")).scripts;
    for (const name of ["start", "test", "typecheck", "lint", "bench", "build"])
      expect(scripts[name], name).toBeTruthy();
  });
});

describe("docs/errors.md", () => {
  it("is generated from ERROR_CODES and up to date (run `pnpm docs:errors`)", async () => {
    const { renderErrorsDoc } = await import("../scripts/errors-doc.js");
    expect(readFileSync(join(root, "docs", "errors.md"), "utf8")).toBe(renderErrorsDoc());
  });
});
