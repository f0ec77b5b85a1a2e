// Vitest for the TypeScript data prep (prep/**/*.test.ts, *.spec.ts); the native tests run under ctest.
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["source"] },
  test: { include: ["prep/**/*.{test,spec}.ts"], testTimeout: 30_000, pool: "forks", maxWorkers: 2 },
});
