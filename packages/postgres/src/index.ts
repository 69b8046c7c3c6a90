export { MIGRATIONS, type Migration } from "./migrations.js";
export { openPostgresStore, type PostgresStore } from "./open.js";
export type { PostgresStoreOptions } from "./options.js";
