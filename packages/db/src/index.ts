// @swanhouse/db: the Prisma client, raw-SQL pool, migration runner and embedded PostgreSQL.
export { createDb, type Db } from "./client.js";
export { migrate, readMigrations, defaultMigrationsDir, type MigrationFile } from "./migrate.js";
export { startEmbeddedPostgres, embeddedUrl, hasEmbeddedData, type EmbeddedDatabase } from "./embedded.js";
export { Prisma, PrismaClient } from "./generated/prisma/client.js";
export type * from "./generated/prisma/client.js";
