// The dashboard performance benchmark (`npm run bench -w @swanhouse/web`): not a test, a measurement.
// Same real-server global setup as the e2e flow; desktop viewport; prints and saves its figures.
import { defineConfig } from "@playwright/test";

export default defineConfig({
  testDir: "bench",
  testMatch: /.*\.bench\.ts$/,
  outputDir: "test-results/bench-artifacts",
  globalSetup: "./e2e/global-setup.ts",
  timeout: 15 * 60_000,
  workers: 1,
  reporter: [["list"]],
  use: {
    launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: ["--no-sandbox", "--disable-dev-shm-usage"] },
    viewport: { width: 1440, height: 900 },
  },
});
