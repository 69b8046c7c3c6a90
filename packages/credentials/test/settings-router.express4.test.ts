import { vi } from "vitest";
import { settingsRouterSuite } from "./settings-router-suite.js";

// The package's peer range includes Express 4: the router and the host app both come from Express 4
// here (body-parser 1.x, whose urlencoded() sets req.body = {} on requests it does not parse).
vi.mock("express", async () => await import("express4"));

settingsRouterSuite("4");
