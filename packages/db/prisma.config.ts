// Prisma CLI config: generate only (migrations are hand-written SQL, see src/migrate.ts).
// No env('DATABASE_URL') here: generate must work without a database.
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "../../prisma/schema.prisma",
  migrations: { path: "../../prisma/migrations" },
});
