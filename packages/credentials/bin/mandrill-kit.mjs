#!/usr/bin/env node
// The workspace's launcher: runs the TypeScript source through tsx, so nothing needs building while
// developing. It is not published: the published package's bin is dist/cli-main.js
// (publishConfig.bin), which never loads TypeScript.
import { register } from "tsx/esm/api";

register();
await import("../src/cli-main.ts");
