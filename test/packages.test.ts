/**
 * The packages as a stranger gets them: built (`pnpm build`), packed (`pnpm pack`, as `pnpm publish`
 * would upload them), then installed with npm into a host app outside the workspace, where the README's
 * quick start must typecheck (strict, `skipLibCheck: false`, `module: nodenext` and `moduleResolution:
 * bundler`) and run against the simulator — on Express 5 and on Express 4 (the peer range claims both).
 *
 * Generic over the workspace: every non-private package under packages/ and every subpath its
 * `exports` declares (each loads, and all but `./testing` typecheck, in the host app). The install needs the npm registry: without it that part skips with a message,
 * or fails under MK_REQUIRE_REGISTRY=1 (set by .ci/run).
 */
import { execFileSync, spawn } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire, isBuiltin } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { eventually } from "@mandrill-kit/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startQuickStart, walkThroughQuickStart } from "../examples/quick-start/test/flow.js";
import { type PackedPackage, packPackages, publishableDirs, root } from "../scripts/pack-packages.js";
import { componentMissing } from "./require-component.js";

const REPOSITORY = "https://github.com/mandrill-kit/mandrill-kit";
const work = mkdtempSync(join(tmpdir(), "mk-packages-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Manifest {
  name: string;
  license?: string;
  homepage?: string;
  bugs?: { url?: string };
  repository?: { type?: string; url?: string; directory?: string };
  bin?: Record<string, string>;
  exports?: Record<string, Record<string, string>>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, "utf8")) as T;
const dirs = publishableDirs();
const names = dirs.map((dir) => readJson<Manifest>(join(dir, "package.json")).name);

let packed: PackedPackage[] = [];
/** Each tarball unpacked, to read what a user would get. */
const unpacked = new Map<string, string>();
const published = (name: string) => {
  const dir = unpacked.get(name);
  if (dir === undefined) throw new Error(`${name} was not packed`);
  return { dir, manifest: readJson<Manifest>(join(dir, "package.json")) };
};

beforeAll(() => {
  packed = packPackages(join(work, "tarballs"));
  for (const p of packed) {
    const dir = join(work, "unpacked", p.name);
    mkdirSync(dir, { recursive: true });
    execFileSync("tar", ["xzf", p.tarball, "-C", dir, "--strip-components=1"]);
    unpacked.set(p.name, dir);
  }
}, 120_000);

function filesUnder(dir: string, suffix: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(suffix))
    .map((f) => join(dir, f));
}

/** Bare module specifiers (`"express"`, `"node:http"`, `"@scope/x/sub"`) the declaration files import. */
function importedByTypes(dir: string): Set<string> {
  const found = new Set<string>();
  const pattern = /(?:from\s+|import\s*\(\s*|import\s+|reference\s+types=)["']([^"'./][^"']*)["']/g;
  for (const file of filesUnder(join(dir, "dist"), ".d.ts")) {
    for (const match of readFileSync(file, "utf8").matchAll(pattern)) if (match[1]) found.add(match[1]);
  }
  return found;
}

const packageOf = (specifier: string) =>
  specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : (specifier.split("/")[0] ?? "");

/** Whether a dependency ships its own declarations (as installed for the workspace package in `fromDir`). */
function shipsTypes(fromDir: string, dependency: string): boolean {
  let dir = fromDir;
  while (!existsSync(join(dir, "node_modules", dependency, "package.json"))) {
    if (dirname(dir) === dir) throw new Error(`${dependency} is not installed for ${fromDir}`);
    dir = dirname(dir);
  }
  const home = join(dir, "node_modules", dependency);
  const manifest = readJson<Record<string, unknown>>(join(home, "package.json"));
  if (manifest.types !== undefined || manifest.typings !== undefined) return true;
  if (JSON.stringify(manifest.exports ?? {}).includes('"types"')) return true;
  return existsSync(join(home, "index.d.ts"));
}

describe("published packages (pnpm pack)", () => {
  it("packs every package under packages/", () => {
    expect(packed.map((p) => p.name).sort()).toEqual([...names].sort());
  });

  it.each(names)("%s ships its built code, README and LICENSE, and no build info", (name) => {
    const p = packed.find((x) => x.name === name);
    expect(p?.files).toEqual(expect.arrayContaining(["package.json", "README.md", "LICENSE"]));
    expect(p?.files.filter((f) => f.includes("tsbuildinfo"))).toEqual([]);
    expect(readFileSync(join(published(name).dir, "LICENSE"), "utf8")).toBe(
      readFileSync(join(root, "LICENSE"), "utf8"),
    );
    const { manifest, dir } = published(name);
    expect(manifest.license).toBe("MIT");
    const targets = Object.values(manifest.exports ?? {}).flatMap((conditions) => Object.values(conditions));
    expect(targets.length).toBeGreaterThan(0);
    for (const target of targets) {
      expect(target, `${name} exports ${target}`).toMatch(/^\.\/dist\//);
      expect(existsSync(join(dir, target)), `${name}: ${target} is in the tarball`).toBe(true);
    }
  });

  it.each(names)("%s names its repository directory, homepage and issue tracker", (name) => {
    const { manifest } = published(name);
    const directory = relative(root, dirs[names.indexOf(name)] ?? "");
    expect(manifest.repository).toEqual({ type: "git", url: `git+${REPOSITORY}.git`, directory });
    expect(manifest.homepage).toBe(`${REPOSITORY}/tree/main/${directory}#readme`);
    expect(manifest.bugs?.url).toBe(`${REPOSITORY}/issues`);
  });

  it.each(names)("%s's README links work outside the repository (absolute or in-page)", (name) => {
    const readme = readFileSync(join(published(name).dir, "README.md"), "utf8");
    const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? "");
    for (const link of links) expect(link, `${name} README`).toMatch(/^(https:\/\/|#|mailto:)/);
  });

  it.each(names)("%s declares every module its public types import", (name) => {
    const { manifest, dir } = published(name);
    const declared = { ...manifest.dependencies, ...manifest.peerDependencies };
    const workspaceDir = dirs[names.indexOf(name)] ?? "";
    for (const specifier of importedByTypes(dir)) {
      const dependency = packageOf(specifier);
      if (dependency === name) continue;
      if (isBuiltin(specifier)) {
        expect(declared, `${name}: its types use Node's (${specifier})`).toHaveProperty(["@types/node"]);
        continue;
      }
      expect(declared, `${name}: its types import ${specifier}`).toHaveProperty([dependency]);
      if (!shipsTypes(workspaceDir, dependency)) {
        const typesName = `@types/${dependency.replace(/^@([^/]+)\//, "$1__")}`;
        expect(declared, `${name}: ${dependency} has no types of its own`).toHaveProperty([typesName]);
      }
    }
  });

  it.each(names)("%s's bins run the built JavaScript, never TypeScript sources", (name) => {
    const { manifest, dir } = published(name);
    for (const [bin, target] of Object.entries(manifest.bin ?? {})) {
      expect(target, bin).toMatch(/^\.\/dist\/.+\.js$/);
      const code = readFileSync(join(dir, target), "utf8");
      expect(code.startsWith("#!/usr/bin/env node\n"), `${bin} has a node shebang`).toBe(true);
      expect(code, bin).not.toMatch(/tsx|\.ts["']/);
    }
  });
});

async function registryReachable(): Promise<{ ok: boolean; registry: string }> {
  let registry = "https://registry.npmjs.org/";
  try {
    registry = execFileSync("npm", ["config", "get", "registry"], { encoding: "utf8" }).trim() || registry;
    const response = await fetch(new URL("express", registry), { signal: AbortSignal.timeout(10_000) });
    return { ok: response.ok, registry };
  } catch {
    return { ok: false, registry };
  }
}

const registry = await registryReachable();
if (!registry.ok) {
  componentMissing(
    "MK_REQUIRE_REGISTRY",
    `[packages test] the npm registry (${registry.registry}) is not reachable: the packed packages cannot be installed into a host app.`,
  );
}

const tsc = join(root, "node_modules", ".bin", "tsc");
const STRICT = {
  target: "ES2023",
  lib: ["ES2023"],
  types: ["node"],
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  noImplicitOverride: true,
  noImplicitReturns: true,
  verbatimModuleSyntax: true,
  isolatedModules: true,
  skipLibCheck: false,
};

function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${e.stdout ?? ""}${e.stderr ?? ""}`);
  }
}

describe.skipIf(!registry.ok)("the quick start in a host app, from the tarballs installed with npm", () => {
  const host = join(work, "host-app");
  const bin = (name: string) => join(host, "node_modules", ".bin", name);
  const betterSqlite = createRequire(join(root, "packages", "sqlite", "package.json")).resolve(
    "better-sqlite3/package.json",
  );

  beforeAll(() => {
    expect(relative(root, host).startsWith("..")).toBe(true); // outside the workspace
    mkdirSync(host, { recursive: true });
    const tarballs = Object.fromEntries(packed.map((p) => [p.name, `file:${p.tarball}`]));
    const sqliteVersion = readJson<{ version: string }>(betterSqlite).version;
    writeFileSync(
      join(host, "package.json"),
      JSON.stringify({
        name: "host-app",
        private: true,
        type: "module",
        dependencies: { ...tarballs, express: "^5.1.0" },
        // @types/pg: the optional peer a TypeScript host of @mandrill-kit/postgres installs (its README).
        devDependencies: { "@types/express": "^5.0.0", "@types/node": "^20.19.0", "@types/pg": "^8.11.0" },
        // Tarballs stand in for the registry's @mandrill-kit/*; better-sqlite3 is the workspace's version.
        overrides: { ...tarballs, "better-sqlite3": sqliteVersion },
      }),
    );
    // --ignore-scripts: better-sqlite3's install script would compile SQLite again (minutes on a busy
    // machine). The workspace built exactly this version for this Node (and .ci/run's cold-store
    // install proves that build); its addon is copied in. No @mandrill-kit package has install scripts.
    run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts"], host);
    const addon = join("build", "Release", "better_sqlite3.node");
    mkdirSync(join(host, "node_modules", "better-sqlite3", "build", "Release"), { recursive: true });
    copyFileSync(join(dirname(betterSqlite), addon), join(host, "node_modules", "better-sqlite3", addon));
    copyFileSync(join(root, "examples", "quick-start", "src", "app.ts"), join(host, "app.ts"));
    const nodenext = { ...STRICT, module: "NodeNext", moduleResolution: "NodeNext", outDir: "dist" };
    const bundler = { ...STRICT, module: "Preserve", moduleResolution: "Bundler", noEmit: true };
    writeFileSync(
      join(host, "tsconfig.json"),
      JSON.stringify({ compilerOptions: nodenext, files: ["app.ts"] }),
    );
    writeFileSync(
      join(host, "tsconfig.bundler.json"),
      JSON.stringify({ compilerOptions: bundler, files: ["app.ts"] }),
    );
  }, 180_000);

  /** Typechecks (both resolutions) and compiles the quick start, then walks through it. */
  async function typecheckAndRun(express: string): Promise<void> {
    expect(
      readJson<{ version: string }>(join(host, "node_modules", "express", "package.json")).version,
    ).toMatch(new RegExp(`^${express}\\.`));
    run(tsc, ["-p", "tsconfig.bundler.json"], host);
    run(tsc, ["-p", "tsconfig.json"], host);

    const keys = run(bin("mandrill-kit"), ["keys", "generate"], host);
    const simulator = spawn(bin("mandrill-simulator"), ["--port", "0", "--smtp-port", "0"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let banner = "";
    simulator.stdout.on("data", (chunk: Buffer) => {
      banner += chunk.toString();
    });
    const cwd = mkdtempSync(join(work, `run-express-${express}-`));
    try {
      await eventually(() => banner.includes("Press Ctrl-C"), { timeoutMs: 20_000, what: "the simulator" });
      const apiUrl = /API: +(\S+)/.exec(banner)?.[1] ?? "";
      const apiKey = /(\S+) +valid +account/.exec(banner)?.[1] ?? "";
      const app = await startQuickStart({
        command: [process.execPath, join(host, "dist", "app.js")],
        cwd,
        keys,
        apiUrl,
      });
      try {
        await walkThroughQuickStart(app, apiKey);
      } finally {
        await app.stop();
      }
    } finally {
      simulator.kill("SIGTERM");
    }
  }

  it("loads every subpath the packages export (e.g. @mandrill-kit/core/plugin) and typechecks them", () => {
    const specifiers = packed.flatMap((p) =>
      Object.keys(published(p.name).manifest.exports ?? {}).map((key) =>
        key === "." ? p.name : `${p.name}/${key.replace(/^\.\//, "")}`,
      ),
    );
    expect(specifiers).toEqual(expect.arrayContaining(["@mandrill-kit/core", "@mandrill-kit/core/plugin"]));
    const script = `const n = {}; for (const s of ${JSON.stringify(specifiers)}) n[s] = Object.keys(await import(s)).length; console.log(JSON.stringify(n));`;
    const loaded = JSON.parse(run(process.execPath, ["--input-type=module", "-e", script], host)) as Record<
      string,
      number
    >;
    for (const specifier of specifiers) expect(loaded[specifier], specifier).toBeGreaterThan(0);
    // Types of every subpath but ./testing ones (their types use vitest, an optional peer a host need not have).
    const typed = specifiers.filter((s) => !s.endsWith("/testing"));
    writeFileSync(
      join(host, "subpaths.ts"),
      typed.map((s, i) => `export type * as m${i} from "${s}";\n`).join(""),
    );
    for (const compilerOptions of [
      { ...STRICT, module: "NodeNext", moduleResolution: "NodeNext", noEmit: true },
      { ...STRICT, module: "Preserve", moduleResolution: "Bundler", noEmit: true },
    ]) {
      writeFileSync(
        join(host, "tsconfig.subpaths.json"),
        JSON.stringify({ compilerOptions, files: ["subpaths.ts"] }),
      );
      run(tsc, ["-p", "tsconfig.subpaths.json"], host);
    }
  }, 60_000);

  it("parses a large signed batch in a parse thread of the installed webhooks package (dist/parse-worker.js)", () => {
    const worker = join(host, "node_modules", "@mandrill-kit", "webhooks", "dist", "parse-worker.js");
    expect(existsSync(worker), "the tarball ships the parse thread's entry").toBe(true);
    // A host app: a webhook batch over the 1 KiB threshold, parsed in the (only) parse thread. A thread
    // that cannot load makes the router warn and parse on the main thread, so the proof is the running
    // worker (Node's diagnostic report lists it) and no warning, beside the batch stored.
    const script = `
      import { once } from "node:events";
      import express from "express";
      import { mandrillJson, signWebhook } from "@mandrill-kit/core/plugin";
      import { addKey, mandrillKit } from "@mandrill-kit/credentials";
      import { openSqliteStore } from "@mandrill-kit/sqlite";
      import { mandrillWebhooks } from "@mandrill-kit/webhooks";
      import { eventFixtures } from "@mandrill-kit/webhooks/testing";
      // No checkpoint thread (the next test covers it): the one worker running is the parse thread.
      const store = openSqliteStore({ filename: "large-batch.db", backgroundCheckpoints: false });
      const publicUrl = "https://hooks.example.com";
      const kit = mandrillKit({ store, keys: addKey(undefined, "k1"), publicUrl });
      const webhookKey = "whk-host-app-0123456789";
      await kit.credentials.save("acme", { transport: "api", username: "ops@acme.example",
        apiKey: "host-app-key-0123456789", fromEmail: "hello@acme.example", webhookKey });
      const warnings = [];
      const logger = { debug() {}, info() {}, error() {}, warn: (_, message) => warnings.push(message) };
      const webhooks = mandrillWebhooks({ parseThreads: 1, parseThreadMinBytes: 1024, logger });
      const app = express();
      app.use(kit);
      app.use(webhooks);
      const server = app.listen(0, "127.0.0.1");
      await once(server, "listening");
      const events = Array.from({ length: 300 }, (_, i) => {
        const e = eventFixtures.hard_bounce({ email: \`user\${i}@example.net\`, id: \`id-\${i}\` });
        return { ...e, msg: { ...e.msg, subject: "Zoë — 📦 shipped" } };
      });
      const signed = signWebhook({ key: webhookKey, url: publicUrl + "/webhooks/mandrill/acme", events });
      const response = await fetch(\`http://127.0.0.1:\${server.address().port}/webhooks/mandrill/acme\`, {
        method: "POST", headers: signed.headers, body: signed.body });
      const stored = await store.inbox.list("acme", { limit: 1000 });
      // Each event's text as Mandrill sent it (the parse thread hands it over as UTF-8 bytes).
      const sent = new Map(events.map((e) => [e._id, mandrillJson(e)]));
      const exact = stored.items.filter((r) => r.raw === sent.get(r.messageId)).length;
      console.log(JSON.stringify({ status: response.status, bytes: signed.body.length,
        stored: stored.items.length, exact, suppressed: (await store.suppressions.check("acme", ["user7@example.net"])).length,
        workers: process.report.getReport().workers.length, warnings }));
      await webhooks.close();
      server.close();
      await store.close();
    `;
    writeFileSync(join(host, "large-batch.mjs"), script);
    const result = JSON.parse(run(process.execPath, ["large-batch.mjs"], host)) as Record<string, unknown>;
    expect(result.bytes).toBeGreaterThan(100_000);
    expect(result).toMatchObject({
      status: 200,
      stored: 300,
      exact: 300,
      suppressed: 1,
      workers: 1,
      warnings: [],
    });
  }, 60_000);

  it("checkpoints the installed SQLite store's WAL from its background thread (better-sqlite3 resolved from the package)", () => {
    // The thread is evaluated code that requires the better-sqlite3 the store's package resolves: in a
    // host it must find it there, not in the workspace. Proof: a thread runs, nothing is warned (a
    // thread that fails makes the store warn and checkpoint inline), and the pages reach the database
    // file long before an inline checkpoint (at 16 MB of WAL without the thread) would have copied them.
    const script = `
      import { statSync } from "node:fs";
      import { setTimeout as sleep } from "node:timers/promises";
      import { openSqliteStore } from "@mandrill-kit/sqlite";
      const warnings = [];
      const logger = { debug() {}, info() {}, error() {}, warn: (_, message) => warnings.push(message) };
      const filename = "checkpoints.db";
      const store = openSqliteStore({ filename, logger });
      const raw = JSON.stringify({ event: "send", msg: { subject: "x".repeat(900) } });
      for (let b = 0; b < 8; b++)
        await store.inbox.ingest({ account: "acme", receivedAt: Date.now(), events: Array.from({ length: 1000 },
          (_, i) => ({ key: \`\${b}:send:id-\${i}\`, type: "send", email: \`user\${i}@example.com\`,
            messageId: \`id-\${b}-\${i}\`, eventAt: Date.now(), raw, effects: [], state: "done" })) });
      const workers = process.report.getReport().workers.length;
      let size = statSync(filename).size;
      for (let i = 0; i < 100 && size < 4_000_000; i++) {
        await sleep(100);
        size = statSync(filename).size;
      }
      await store.close();
      console.log(JSON.stringify({ workers, checkpointed: size >= 4_000_000, warnings }));
    `;
    writeFileSync(join(host, "checkpoints.mjs"), script);
    const result = JSON.parse(run(process.execPath, ["checkpoints.mjs"], host)) as Record<string, unknown>;
    // Checked by turning the thread off (backgroundCheckpoints: false): { workers: 0, checkpointed: false }.
    expect(result).toEqual({ workers: 1, checkpointed: true, warnings: [] });
  }, 60_000);

  it("typechecks (nodenext and bundler, skipLibCheck false) and runs against the simulator on Express 5", async () => {
    await typecheckAndRun("5");
  }, 90_000);

  it("typechecks and runs the same file on Express 4, where it catches its own rejected promise", async () => {
    run(
      "npm",
      [
        "install",
        "--no-audit",
        "--no-fund",
        "--prefer-offline",
        "--ignore-scripts",
        "express@^4.21.0",
        "@types/express@^4.17.21",
      ],
      host,
    );
    await typecheckAndRun("4");
  }, 120_000);
});
