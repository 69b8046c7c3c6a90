import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { DEMO_KEYS } from "@mandrill-kit/simulator";
import { describe, expect, it } from "vitest";
import { runSimulatorCli } from "../src/cli.js";
import { callApi } from "./helpers.js";

const BIN = fileURLToPath(new URL("../bin/mandrill-simulator.mjs", import.meta.url));

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t), env: {} } };
}

describe("mandrill-simulator CLI", () => {
  it("runs from the bin: prints where it listens and the demo keys, answers, and stops on SIGTERM", async () => {
    const child = spawn(process.execPath, [BIN, "--port", "0", "--smtp-port", "0", "--accept-any-key"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      let output = "";
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no banner within 15 s: ${output}`)), 15_000);
        child.stdout.on("data", (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes("Press Ctrl-C")) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.once("exit", (code) => reject(new Error(`exited with ${code}: ${output}`)));
      });
      expect(output).toContain(DEMO_KEYS.valid);
      expect(output).toMatch(/SMTP: {2}127\.0\.0\.1:\d+ \(STARTTLS/);
      const apiUrl = /API: {3}(\S+)/.exec(output)?.[1] ?? "";
      expect(apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/1\.0\/$/);
      expect((await callApi(apiUrl, "users/ping", { key: "whatever-key" })).body).toBe("PONG!");
      expect((await callApi(apiUrl, "users/ping", { key: "invalid-key" })).body).toMatchObject({
        name: "Invalid_Key",
      });
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });

  it("prints usage for --help and explains a bad option", async () => {
    const help = io();
    expect(await runSimulatorCli(["--help"], help.io)).toBeUndefined();
    expect(help.out.join("")).toContain("--smtp-port");
    const bad = io();
    expect(await runSimulatorCli(["--errors", "loud"], bad.io)).toBeUndefined();
    expect(bad.err.join("")).toMatch(/errorStatus must be "legacy" or "modern"/);
    const unknown = io();
    expect(await runSimulatorCli(["--prot", "1"], unknown.io)).toBeUndefined();
    expect(unknown.err.join("")).toMatch(/Unknown option '--prot'/);
  });

  it("gives the accepted keys' accounts the --domains as verified sending domains, and no other", async () => {
    const run = io();
    const sim = await runSimulatorCli(
      ["--port", "0", "--smtp-port", "0", "--accept-any-key", "--domains", "acme.example, example.com"],
      run.io,
    );
    try {
      expect(run.out.join("")).toContain("verified sending domains: acme.example, example.com");
      const apiUrl = sim?.apiUrl ?? "";
      const listed = (await callApi(apiUrl, "senders/domains", { key: "any-accepted-key" })).body as Array<{
        domain: string;
        verified_at: string | null;
        valid_signing: boolean;
      }>;
      expect(listed.map((d) => [d.domain, d.verified_at !== null, d.valid_signing])).toEqual([
        ["acme.example", true, true],
        ["example.com", true, true],
      ]);
      const other = await callApi(apiUrl, "senders/check-domain", {
        key: "any-accepted-key",
        domain: "unlisted.example",
      });
      expect(other.body).toMatchObject({
        domain: "unlisted.example",
        verified_at: null,
        valid_signing: false,
      });
    } finally {
      await sim?.close();
    }
    const alone = io();
    expect(await runSimulatorCli(["--port", "0", "--domains", "acme.example"], alone.io)).toBeUndefined();
    expect(alone.err.join("")).toContain("--domains needs --accept-any-key");
  });

  it("takes ports from the environment", async () => {
    const run = io();
    const sim = await runSimulatorCli([], {
      ...run.io,
      env: { MANDRILL_SIMULATOR_PORT: "0", MANDRILL_SIMULATOR_SMTP_PORT: "0" },
    });
    try {
      expect(sim?.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/1\.0\/$/);
      expect(run.out.join("")).toContain("Mandrill simulator listening");
    } finally {
      await sim?.close();
    }
  });
});
