export { MIGRATIONS, type Migration } from "./migrations.js";
export { openSqliteStore, type SqliteStore, type SqliteStoreOptions } from "./open-sqlite-store.js";
