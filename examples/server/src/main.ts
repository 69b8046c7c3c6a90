import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createConsoleLogger, type Store } from "@mandrill-kit/core";
import { openPostgresStore } from "@mandrill-kit/postgres";
import { type Simulator, startSimulator } from "@mandrill-kit/simulator";
import { createApp, type ExampleApp, type MandrillTarget } from "./app.js";
import { ConfigError, loadConfig } from "./config.js";
import { demoSimulatorOptions } from "./demo-simulator.js";
import { createHttpServer } from "./http-server.js";

function print(lines: string[]): void {
  process.stdout.write(`${lines.join("\n")}\n`);
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

async function main(): Promise<void> {
  const config = await loadConfig(process.env);
  const logger = createConsoleLogger({ level: config.logLevel });

  // Listen first, so the public URL can name the port actually bound (PORT=0 picks a free one).
  const server = createHttpServer(config.http);
  const port = await listen(server, config.port);
  const publicUrl = config.publicUrl ?? `http://localhost:${port}`;
  const publicOrigin = new URL(publicUrl).origin;

  let simulator: Simulator | undefined;
  let target: MandrillTarget;
  if (config.simulator) {
    simulator = await startSimulator({
      // Every key the admin saves works, except those starting with "invalid" (to see the
      // troubleshooting); each key's account has the demo's verified sending domains.
      ...demoSimulatorOptions(),
      flushIntervalMs: 500,
      // The simulator signs over the registered Callback URL but posts to this process directly, so
      // webhooks arrive even when PUBLIC_URL names a proxy or a host this machine cannot reach.
      webhookTarget: (url) =>
        url.startsWith(`${publicOrigin}/`)
          ? `http://127.0.0.1:${port}${url.slice(publicOrigin.length)}`
          : url,
      logger,
    });
    target = { kind: "simulator", apiUrl: simulator.apiUrl, smtp: simulator.smtp };
  } else {
    target = { kind: "mandrill", apiUrl: config.apiUrl };
  }

  let example: ExampleApp;
  // With DATABASE_URL, several instances share one PostgreSQL schema; otherwise SQLite in DATA_DIR.
  let sharedStore: Store | undefined;
  try {
    if (config.databaseUrl !== undefined) {
      sharedStore = await openPostgresStore({
        connectionString: config.databaseUrl,
        schema: config.databaseSchema,
        logger,
      });
    }
    example = createApp({
      dataDir: config.dataDir,
      ...(sharedStore === undefined ? {} : { store: sharedStore }),
      keys: config.keys,
      publicUrl,
      adminToken: config.adminToken,
      unsubscribeSecret: config.unsubscribeSecret,
      mandrill: target,
      logger,
      trustProxy: config.trustProxy,
      rateLimits: config.rateLimits,
      ...(config.metricsToken === undefined ? {} : { metricsToken: config.metricsToken }),
      metricsPerAccount: config.metricsPerAccount,
      ...(config.traces === undefined ? {} : { traces: config.traces }),
    });
  } catch (error) {
    server.close();
    await sharedStore?.close();
    await simulator?.close();
    throw error;
  }
  server.on("request", example.app);

  const rule = "=".repeat(78);
  print([
    "",
    rule,
    `mandrill-kit example server listening on port ${port}`,
    `  Open:        ${publicUrl}/login`,
    `  Admin token: ${config.adminTokenGenerated ? config.adminToken : "(from ADMIN_TOKEN)"}`,
    `  Data:        ${config.dataDir}${sharedStore === undefined ? "" : " (store: PostgreSQL from DATABASE_URL)"}`,
    simulator === undefined
      ? `  Mandrill:    ${config.apiUrl} (real Mandrill; MANDRILL_SIMULATOR=off)`
      : `  Mandrill:    local simulator, API ${simulator.apiUrl}, SMTP 127.0.0.1:${simulator.smtp.port} (nothing leaves this machine)`,
    ...config.notices.map((n) => `  ! ${n}`),
    rule,
    "",
  ]);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    print([`${signal} received: shutting down`]);
    const timer = setTimeout(() => {
      print(["shutdown took too long; exiting"]);
      process.exit(1);
    }, 10_000);
    timer.unref();
    try {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await example.close();
      await sharedStore?.close();
      await simulator?.close();
      print(["stopped cleanly"]);
      process.exitCode = 0;
    } catch (error) {
      print([`shutdown failed: ${(error as Error).message}`]);
      process.exitCode = 1;
    }
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`Configuration error: ${error.message}\n`);
  } else {
    process.stderr.write(
      `Failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  }
  process.exit(1);
});
