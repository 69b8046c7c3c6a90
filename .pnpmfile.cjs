// better-sqlite3 builds its native addon during `pnpm install`. Its prebuilt binaries and node-gyp's
// header tarball are downloaded from GitHub and nodejs.org, which not every network reaches. Node
// installs that ship their own headers (Debian/Ubuntu's `nodejs` in /usr/include/node; the official
// tarballs, nvm, fnm, volta and Homebrew in <prefix>/include/node) need neither: this hook points
// node-gyp at them, so `pnpm install` works on a fresh machine with nothing exported.
// Needs pnpm >= 11.20 (`hooks.updateConfig`); older pnpm ignores it and downloads as before.
const fs = require("node:fs");
const path = require("node:path");

/**
 * The directory to give node-gyp as `nodedir` for the Node running this hook (the `node` on PATH,
 * which also runs the install scripts), or undefined when no header set of exactly this version is
 * installed next to it. A header set of another version would build an addon the running Node
 * cannot load, so versions are compared, not just files found.
 */
function localNodedir(execPath = process.execPath, version = process.versions.node) {
  const prefixes = new Set();
  for (const exe of [execPath, safeRealpath(execPath)]) {
    if (exe !== undefined) prefixes.add(path.dirname(path.dirname(exe))); // <prefix>/bin/node
  }
  for (const prefix of prefixes) {
    const include = path.join(prefix, "include", "node");
    if (!fs.existsSync(path.join(include, "common.gypi"))) continue;
    if (headerVersion(path.join(include, "node_version.h")) === version) return prefix;
  }
  return undefined;
}

function safeRealpath(file) {
  try {
    return fs.realpathSync(file);
  } catch {
    return undefined;
  }
}

function headerVersion(file) {
  let text;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  const part = (name) => new RegExp(`#define NODE_${name}_VERSION (\\d+)`).exec(text)?.[1];
  const [major, minor, patch] = [part("MAJOR"), part("MINOR"), part("PATCH")];
  return major && minor && patch ? `${major}.${minor}.${patch}` : undefined;
}

module.exports = {
  hooks: {
    updateConfig(config) {
      // An explicit setting (environment or .npmrc) wins.
      if (process.env.npm_config_nodedir || config.extraEnv?.npm_config_nodedir) return config;
      const nodedir = localNodedir();
      if (nodedir === undefined) return config;
      return { ...config, extraEnv: { ...config.extraEnv, npm_config_nodedir: nodedir } };
    },
  },
  localNodedir,
};
