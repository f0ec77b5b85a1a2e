// Playwright: the dashboard smoke flows against the real server (started by e2e/global-setup.ts), on
// Debian's Chromium (never `playwright install`), at desktop size and at a 390×844 phone viewport.
import { defineConfig, devices } from "@playwright/test";

const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export default defineConfig({
  testDir: "e2e",
  outputDir: "test-results/artifacts",
  globalSetup: "./e2e/global-setup.ts",
  timeout: 90_000,
  expect: { timeout: 10_000 },
  workers: 1,
  // One retry: the 1 s live-update assertions time a real server on a shared 2-core box.
  retries: 1,
  reporter: [["list"]],
  use: {
    launchOptions: { executablePath, args: ["--no-sandbox", "--disable-dev-shm-usage"] },
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
  },
  projects: [
    { name: "desktop", use: { ...devices["Desktop Chrome"], viewport: { width: 1366, height: 900 } } },
    { name: "phone", use: { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true } },
  ],
});
