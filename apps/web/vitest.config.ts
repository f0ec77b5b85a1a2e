// Unit tests of the pure builders (option builders, smoothing, live-point merging); Playwright covers the UI.
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["source"] },
  test: { include: ["src/**/*.test.ts"], environment: "node" },
});
