export { MIGRATIONS, type Migration } from "./migrations.js";
export { openPostgresStore, type PostgresStore, type PostgresStoreOptions } from "./open-postgres-store.js";
