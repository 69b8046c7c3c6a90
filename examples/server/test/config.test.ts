import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "mk-example-config-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("loadConfig", () => {
  it("defaults to port 3000, the simulator, and development secrets kept in DATA_DIR with mode 0600", async () => {
    const config = await loadConfig({ DATA_DIR: dir });
    expect(config).toMatchObject({
      port: 3000,
      dataDir: dir,
      publicUrl: undefined,
      simulator: true,
      keysSource: "generated",
    });
    expect(config.adminTokenGenerated).toBe(true);
    expect(config.notices.join("\n")).toContain("DEVELOPMENT ONLY");
    for (const file of ["keys.json", "unsubscribe-secret"]) {
      expect((await stat(join(dir, file))).mode & 0o777).toBe(0o600);
    }
    expect(JSON.parse(await readFile(join(dir, "keys.json"), "utf8")).keys).toHaveLength(1);
  });

  it("reuses the generated keys and unsubscribe secret on the next start, with a fresh admin token", async () => {
    const first = await loadConfig({ DATA_DIR: dir });
    const second = await loadConfig({ DATA_DIR: dir });
    expect(second.keys).toBe(first.keys);
    expect(second.keysSource).toBe("data-dir");
    expect(second.unsubscribeSecret).toBe(first.unsubscribeSecret);
    expect(second.adminToken).not.toBe(first.adminToken);
  });

  it("takes everything from the environment when set", async () => {
    const keys = JSON.stringify({ keys: [{ kty: "oct", kid: "k1", k: "A".repeat(43) }] });
    const config = await loadConfig({
      DATA_DIR: dir,
      PORT: "8080",
      PUBLIC_URL: "https://app.example.com",
      MANDRILL_KIT_KEYS: keys,
      ADMIN_TOKEN: "an-admin-token-long-enough",
      MANDRILL_SIMULATOR: "off",
      MANDRILL_API_URL: "https://mandrill.internal/api/1.0/",
      UNSUBSCRIBE_SECRET: "u".repeat(40),
    });
    expect(config).toMatchObject({
      port: 8080,
      publicUrl: "https://app.example.com",
      keys,
      keysSource: "env",
      adminToken: "an-admin-token-long-enough",
      adminTokenGenerated: false,
      simulator: false,
      apiUrl: "https://mandrill.internal/api/1.0/",
      unsubscribeSecret: "u".repeat(40),
      notices: [],
    });
  });

  it.each([
    [{ PORT: "http" }, /PORT must be a whole number/],
    [{ PUBLIC_URL: "app.example.com" }, /PUBLIC_URL must be an absolute/],
    [{ MANDRILL_SIMULATOR: "maybe" }, /MANDRILL_SIMULATOR must be "on" or "off"/],
    [{ MANDRILL_KIT_KEYS: "{not json" }, /MANDRILL_KIT_KEYS is not a usable key set/],
    [{ ADMIN_TOKEN: "short" }, /ADMIN_TOKEN must be at least 16/],
    [{ TRUST_PROXY: "10.0.0.0/40" }, /TRUST_PROXY must be a hop count or a comma-separated list/],
    [{ RATE_LIMIT_SEND: "lots" }, /RATE_LIMIT_SEND must be a count per window such as 10\/15m/],
    [{ HTTP_REQUEST_TIMEOUT_MS: "30s" }, /HTTP_REQUEST_TIMEOUT_MS must be a positive whole number/],
  ])("refuses %j with a message naming the variable", async (env, message) => {
    await expect(loadConfig({ DATA_DIR: dir, ...env })).rejects.toThrow(message);
    await expect(loadConfig({ DATA_DIR: dir, ...env })).rejects.toBeInstanceOf(ConfigError);
  });

  it.each(["true", "on", "yes"])(
    "refuses TRUST_PROXY=%s (trust every hop: any client could choose its address and escape the rate limits)",
    async (value) => {
      await expect(loadConfig({ DATA_DIR: dir, TRUST_PROXY: value })).rejects.toThrow(
        /would trust every hop.*TRUST_PROXY=1.*TRUST_PROXY=loopback,10\.0\.0\.0\/8/,
      );
    },
  );

  it("takes TRUST_PROXY as a hop count or a list of proxy addresses and subnets", async () => {
    expect((await loadConfig({ DATA_DIR: dir, TRUST_PROXY: "2" })).trustProxy).toBe(2);
    expect((await loadConfig({ DATA_DIR: dir, TRUST_PROXY: "off" })).trustProxy).toBe(false);
    expect(
      (await loadConfig({ DATA_DIR: dir, TRUST_PROXY: "loopback, 10.0.0.0/8,fd00::/8" })).trustProxy,
    ).toEqual(["loopback", "10.0.0.0/8", "fd00::/8"]);
  });

  it("refuses a keys.json other users can read, with the chmod that fixes it", async () => {
    await loadConfig({ DATA_DIR: dir });
    const file = join(dir, "keys.json");
    await chmod(file, 0o644);
    await expect(loadConfig({ DATA_DIR: dir })).rejects.toThrow(`chmod 600 ${file}`);
    await chmod(file, 0o600);
    await expect(loadConfig({ DATA_DIR: dir })).resolves.toMatchObject({ keysSource: "data-dir" });
  });

  it("refuses an unsubscribe-secret file other users can read", async () => {
    await writeFile(join(dir, "unsubscribe-secret"), `${"s".repeat(40)}\n`, { mode: 0o640 });
    await expect(loadConfig({ DATA_DIR: dir })).rejects.toThrow(/chmod 600 .*unsubscribe-secret/);
  });

  it("reads the rate limits and HTTP timeouts from the environment", async () => {
    const config = await loadConfig({
      DATA_DIR: dir,
      RATE_LIMIT_AUTH_FAILURES: "20/1h",
      RATE_LIMIT_SEND: "100/m",
      HTTP_REQUEST_TIMEOUT_MS: "5000",
    });
    expect(config.rateLimits.authFailures).toEqual({ limit: 20, windowMs: 3_600_000 });
    expect(config.rateLimits.send).toEqual({ limit: 100, windowMs: 60_000 });
    expect(config.rateLimits.testEmail).toEqual({ limit: 5, windowMs: 60_000 });
    expect(config.http).toEqual({
      requestTimeoutMs: 5000,
      headersTimeoutMs: 10_000,
      keepAliveTimeoutMs: 5000,
    });
  });
});
