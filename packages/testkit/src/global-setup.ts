// vitest globalSetup: one PostgreSQL (embedded unless TEST_DATABASE_URL/DATABASE_URL) per test run.
import type { TestProject } from "vitest/node";
import type {} from "vitest";
import { startTestPostgres } from "./index.js";

declare module "vitest" {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgTemplate: string;
  }
}

export default async function setup(project: TestProject) {
  const pg = await startTestPostgres();
  project.provide("pgAdminUrl", pg.adminUrl);
  project.provide("pgTemplate", pg.template);
  return pg.stop;
}
