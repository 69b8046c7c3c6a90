import { parseArgs } from "node:util";
import { isMandrillKitError, MandrillKitConfigError } from "@mandrill-kit/core";
import type { ErrorStatusMode } from "./api-error.js";
import { type Simulator, startSimulator } from "./start-simulator.js";

const USAGE = `mandrill-simulator — a local Mandrill: HTTP API, SMTP server, signed webhooks

Usage: mandrill-simulator [options]

  --host ADDR         address to bind (default 127.0.0.1; env MANDRILL_SIMULATOR_HOST)
  --port N            HTTP API port, 0 = any free port (default 3025; env MANDRILL_SIMULATOR_PORT)
  --smtp-port N       SMTP port with STARTTLS, 0 = any (default 2525; env MANDRILL_SIMULATOR_SMTP_PORT)
  --smtps-port N      also listen with implicit TLS on N (like Mandrill's 465)
  --errors MODE       legacy (HTTP 500 for every error, default) or modern (4xx/5xx)
  --flush-ms N        webhook batching delay in ms, 0 = post at once (default 1000)
  --accept-any-key    accept every API key except those starting with "invalid"
  --domains LIST      with --accept-any-key: the verified sending domains of those keys' accounts,
                      comma-separated (others are unverified); default: none listed, any accepted
  --help              this text
`;

/** What the CLI writes to and reads; injectable for tests. */
export interface SimulatorCliIo {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
}

function int(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      name,
      `${name} must be a number; received "${value}".`,
    );
  }
  return Number(value);
}

/** `--domains a.example,b.example`: the sending domains of the accounts `--accept-any-key` creates. */
function domainList(value: string | undefined, acceptAnyKey: boolean): string[] | undefined {
  if (value === undefined) return undefined;
  const domains = value.split(",").map((d) => d.trim().toLowerCase());
  if (!acceptAnyKey || domains.some((d) => !/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(d))) {
    throw new MandrillKitConfigError(
      "ERR_MK_CONFIG_INVALID",
      "--domains",
      `--domains needs --accept-any-key and a comma-separated list of domain names; received "${value}".`,
    );
  }
  return domains;
}

/**
 * Starts a simulator from command-line arguments and prints where it listens and the demo keys.
 * Resolves to the running simulator, or `undefined` (after printing why) when it did not start.
 */
export async function runSimulatorCli(
  argv: readonly string[],
  io: SimulatorCliIo,
): Promise<Simulator | undefined> {
  let values: ReturnType<typeof parse>["values"];
  function parse() {
    return parseArgs({
      args: [...argv],
      options: {
        host: { type: "string" },
        port: { type: "string" },
        "smtp-port": { type: "string" },
        "smtps-port": { type: "string" },
        errors: { type: "string" },
        "flush-ms": { type: "string" },
        "accept-any-key": { type: "boolean" },
        domains: { type: "string" },
        help: { type: "boolean" },
      },
      strict: true,
    });
  }
  try {
    values = parse().values;
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${USAGE}`);
    return undefined;
  }
  if (values.help === true) {
    io.out(USAGE);
    return undefined;
  }
  let sim: Simulator;
  try {
    const domains = domainList(values.domains, values["accept-any-key"] === true);
    const smtpsPort = int(values["smtps-port"], "--smtps-port");
    sim = await startSimulator({
      host: values.host ?? io.env.MANDRILL_SIMULATOR_HOST ?? "127.0.0.1",
      port: int(values.port ?? io.env.MANDRILL_SIMULATOR_PORT, "--port") ?? 3025,
      smtpPort: int(values["smtp-port"] ?? io.env.MANDRILL_SIMULATOR_SMTP_PORT, "--smtp-port") ?? 2525,
      smtpsPort: smtpsPort ?? false,
      errorStatus: (values.errors ?? "legacy") as ErrorStatusMode,
      flushIntervalMs: int(values["flush-ms"], "--flush-ms") ?? 1000,
      ...(values["accept-any-key"] === true
        ? { acceptAnyKey: (key: string) => !key.startsWith("invalid") }
        : {}),
      ...(domains === undefined ? {} : { anyKeyAccount: { domains, balance: 100 } }),
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const hint =
      code === "EADDRINUSE" ? " A port is in use: pass --port 0 / --smtp-port 0 for free ones." : "";
    io.err(
      `mandrill-simulator did not start: ${isMandrillKitError(error) ? error.message : String(error)}${hint}\n`,
    );
    return undefined;
  }
  const keys = sim.inspect.keys();
  const lines = [
    "Mandrill simulator listening",
    `  API:   ${sim.apiUrl}  (POST <group>/<method>.json with a JSON body containing "key")`,
    `  SMTP:  ${sim.smtp.host}:${sim.smtp.port} (STARTTLS; AUTH PLAIN/LOGIN: any username, an API key as password)`,
    ...(sim.smtp.securePort === null
      ? []
      : [`  SMTPS: ${sim.smtp.host}:${sim.smtp.securePort} (implicit TLS)`]),
    "  Keys:",
    ...keys.map((k) => `    ${k.key.padEnd(28)} ${k.kind.padEnd(14)} account ${k.account}`),
    ...(values["accept-any-key"] === true
      ? ['    (any other key is accepted too, except keys starting with "invalid")']
      : []),
    ...(values.domains === undefined
      ? []
      : [
          `    (their accounts' verified sending domains: ${values.domains
            .split(",")
            .map((d) => d.trim())
            .join(", ")})`,
        ]),
    "  Test addresses: reject@, hard_bounce@, soft_bounce@, spam@test.mandrillapp.com",
    "Press Ctrl-C to stop.",
  ];
  io.out(`${lines.join("\n")}\n`);
  return sim;
}
