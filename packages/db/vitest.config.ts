// Tests of the migration runner and of schema.prisma against the migrated database. The fixtures come
// from @swanhouse/testkit through the "source" condition (testkit depends on this package, so it is not
// declared here: turbo would see a cycle).
import { integrationConfig } from "../../vitest.shared.js";

export default integrationConfig({ testTimeout: 60_000, maxWorkers: 2, include: ["src/**/*.test.ts"] });
