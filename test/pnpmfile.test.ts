import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

// .pnpmfile.cjs is what lets `pnpm install` build better-sqlite3 with nothing exported.
const pnpmfile = createRequire(import.meta.url)("../.pnpmfile.cjs") as {
  localNodedir(execPath?: string, version?: string): string | undefined;
  hooks: {
    updateConfig(config: { extraEnv?: Record<string, string> }): { extraEnv?: Record<string, string> };
  };
};

const dir = mkdtempSync(join(tmpdir(), "mk-pnpmfile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A Node install laid out like the official tarballs (and nvm, Debian's /usr): bin/node, include/node. */
function nodeInstall(name: string, headerVersion: string | undefined): string {
  const prefix = join(dir, name);
  mkdirSync(join(prefix, "bin"), { recursive: true });
  writeFileSync(join(prefix, "bin", "node"), "");
  if (headerVersion !== undefined) {
    const [major, minor, patch] = headerVersion.split(".");
    mkdirSync(join(prefix, "include", "node"), { recursive: true });
    writeFileSync(join(prefix, "include", "node", "common.gypi"), "{}");
    writeFileSync(
      join(prefix, "include", "node", "node_version.h"),
      `#define NODE_MAJOR_VERSION ${major}\n#define NODE_MINOR_VERSION ${minor}\n#define NODE_PATCH_VERSION ${patch}\n`,
    );
  }
  return prefix;
}

describe(".pnpmfile.cjs", () => {
  it("points node-gyp at the headers installed next to the running Node (<prefix>/include/node)", () => {
    const prefix = nodeInstall("official", "20.20.2");
    expect(pnpmfile.localNodedir(join(prefix, "bin", "node"), "20.20.2")).toBe(prefix);
  });

  it("follows a symlinked node (Homebrew, /usr/local/bin) to the install that has the headers", () => {
    const prefix = nodeInstall("cellar", "22.1.0");
    mkdirSync(join(dir, "links", "bin"), { recursive: true });
    symlinkSync(join(prefix, "bin", "node"), join(dir, "links", "bin", "node"));
    expect(pnpmfile.localNodedir(join(dir, "links", "bin", "node"), "22.1.0")).toBe(prefix);
  });

  it("ignores headers of another Node version (the addon would not load) and installs without headers", () => {
    const other = nodeInstall("other", "20.11.0");
    expect(pnpmfile.localNodedir(join(other, "bin", "node"), "20.20.2")).toBeUndefined();
    const bare = nodeInstall("bare", undefined);
    expect(pnpmfile.localNodedir(join(bare, "bin", "node"), "20.20.2")).toBeUndefined();
  });

  it("leaves an explicit npm_config_nodedir alone and adds one otherwise", () => {
    const explicit = pnpmfile.hooks.updateConfig({ extraEnv: { npm_config_nodedir: "/opt/node" } });
    expect(explicit.extraEnv?.npm_config_nodedir).toBe("/opt/node");
    const saved = process.env.npm_config_nodedir;
    delete process.env.npm_config_nodedir;
    try {
      const added = pnpmfile.hooks.updateConfig({ extraEnv: { OTHER: "kept" } });
      expect(added.extraEnv?.OTHER).toBe("kept");
      expect(added.extraEnv?.npm_config_nodedir).toBe(pnpmfile.localNodedir());
    } finally {
      if (saved !== undefined) process.env.npm_config_nodedir = saved;
    }
  });
});
