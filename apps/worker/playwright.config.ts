// Playwright: the fine-tune flow through the dashboard on both queue backends (two servers, started by
// e2e/global-setup.ts, each with its embedded job worker running the real CPU trainer). Debian's Chromium.
import { defineConfig, devices } from "@playwright/test";

export default defineConfig({
  testDir: "e2e",
  testMatch: "*.e2e.ts",
  outputDir: "test-results/artifacts",
  globalSetup: "./e2e/global-setup.ts",
  // A real CPU training run inside: generous on loaded 2-core machines.
  timeout: 900_000,
  expect: { timeout: 15_000 },
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    ...devices["Desktop Chrome"],
    viewport: { width: 1366, height: 900 },
    launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: ["--no-sandbox", "--disable-dev-shm-usage"] },
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
  },
});
