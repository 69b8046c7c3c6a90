import { settingsRouterSuite } from "./settings-router-suite.js";

settingsRouterSuite("5");
