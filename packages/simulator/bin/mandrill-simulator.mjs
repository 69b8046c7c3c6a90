#!/usr/bin/env node
// Inside the mandrill-kit workspace (TypeScript sources + tsx present) run the source; installed from
// the registry, run the built JavaScript.
import { existsSync } from "node:fs";

const source = new URL("../src/cli-main.ts", import.meta.url);
let tsx;
if (existsSync(source)) {
  try {
    tsx = await import("tsx/esm/api");
  } catch {
    tsx = undefined;
  }
}
if (tsx !== undefined) {
  tsx.register();
  await import(source.href);
} else {
  await import("../dist/cli-main.js");
}
