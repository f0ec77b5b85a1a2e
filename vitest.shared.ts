// The vitest setup every package that tests against real services shares: workspace packages resolved
// from source, one PostgreSQL per run (./test/global-setup.ts re-exports testkit's), a database cloned
// per test file. Imported by relative path so loading a config needs nothing built.
import { defineConfig } from "vitest/config";

export function integrationConfig(opts: { testTimeout: number; maxWorkers: number; include?: string[] }) {
  return defineConfig({
    resolve: { conditions: ["source"] },
    ssr: { resolve: { conditions: ["source"] } },
    test: {
      globalSetup: ["./test/global-setup.ts"],
      include: opts.include ?? ["src/**/*.test.ts", "test/**/*.spec.ts"],
      testTimeout: opts.testTimeout,
      hookTimeout: 60_000,
      maxWorkers: opts.maxWorkers,
    },
  });
}
