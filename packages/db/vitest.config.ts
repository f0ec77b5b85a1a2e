// Tests of the migration runner and of schema.prisma against the migrated database. The fixtures come
// from @swanhouse/testkit through the "source" condition (testkit depends on this package, so it is not
// declared here: turbo would see a cycle).
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"] } },
  test: {
    globalSetup: ["./test/global-setup.ts"],
    include: ["src/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
  },
});
