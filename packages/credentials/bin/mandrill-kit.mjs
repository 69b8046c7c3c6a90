#!/usr/bin/env node
// Runs the built CLI when the package is installed from the registry, or the TypeScript source
// through tsx inside the mandrill-kit workspace.
try {
  await import("../dist/cli-main.js");
} catch (error) {
  if (error?.code !== "ERR_MODULE_NOT_FOUND" || !String(error.message).includes("cli-main")) throw error;
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/cli-main.ts");
}
