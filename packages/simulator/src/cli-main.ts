#!/usr/bin/env node
import { runSimulatorCli } from "./cli.js";

const sim = await runSimulatorCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
});
if (sim === undefined) {
  process.exitCode = process.argv.includes("--help") ? 0 : 1;
} else {
  const stop = () => {
    void sim.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
