export { MIGRATIONS, type Migration } from "./migrations.js";
export { openSqliteStore, type SqliteStore } from "./open.js";
export type { SqliteStoreOptions } from "./options.js";
