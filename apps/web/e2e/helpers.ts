// REST helpers for the specs (what an SDK would do), and reading a chart's drawn data from the page.
import { expect, type Page, type TestInfo } from "@playwright/test";

export const base = () => {
  const url = process.env.E2E_BASE_URL;
  if (!url) throw new Error("E2E_BASE_URL is not set: run through playwright.config.ts (global setup)");
  return url;
};

/** Signs up through the form (a name unique to this test and viewport), lands on the personal
 *  workspace, and makes an API key with the new session. */
export async function signUp(page: Page, prefix: string, info: TestInfo, password = "a-long-password") {
  const username = `${prefix}${Date.now().toString(36)}${info.project.name.slice(0, 2)}`;
  await page.goto(`${base()}/signup`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page).toHaveURL(new RegExp(`/${username}$`));
  const created = await page.request.post(`${base()}/api/v1/api-keys`, { data: { name: "e2e" } });
  return { username, key: ((await created.json()) as { key: string }).key };
}

export async function rest<T = unknown>(key: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base()}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const json = (await res.json()) as T;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

export const points = (key: string, from: number, to: number, f = (s: number) => 1 / (s + 1)) =>
  Array.from({ length: to - from }, (_, i) => ({ key, step: from + i, value: f(from + i) }));

export type SeriesSummary = { runId: string; name: string; n: number; firstStep: number | null; lastStep: number | null; lastValue: number | null };

export async function chartSeries(page: Page, key: string): Promise<SeriesSummary[]> {
  const raw = await page.getByTestId(`chart-${key}`).first().getAttribute("data-series");
  return raw ? (JSON.parse(raw) as SeriesSummary[]) : [];
}

/** Polls the chart's data until `pred` holds; returns how long that took (ms) after `since`. */
export async function waitForChart(page: Page, key: string, pred: (s: SeriesSummary[]) => boolean, since: number, timeoutMs = 5000): Promise<number> {
  await expect.poll(async () => pred(await chartSeries(page, key)), { timeout: timeoutMs, intervals: [25] }).toBe(true);
  // The data is also on the canvas: ECharts was created and given the option.
  await expect(page.getByTestId(`chart-${key}`).first().locator('[data-drawn="1"] canvas').first()).toBeAttached({ timeout: timeoutMs });
  return Date.now() - since;
}

export async function shot(page: Page, name: string, project: string) {
  await page.screenshot({ path: `test-results/${project}-${name}.png`, fullPage: true });
}

/** The page's socket is connected and every subscription acked: from here on pushes reach it. */
export async function waitLive(page: Page) {
  await expect.poll(() => page.evaluate(() => window.__swanhouseSocket?.live === true), { intervals: [25] }).toBe(true);
}

/** Logs `body` through the REST API from inside the page and times, on the page's clock, until the
 *  chart of `key` holds `n` points of the run ending at `lastStep` (no Playwright polling in the way). */
export async function timeLiveLog(page: Page, apiKey: string, runId: string, body: unknown, want: { key: string; runName: string; n: number; lastStep: number }): Promise<number> {
  return page.evaluate(
    async ({ apiKey, runId, body, want }) => {
      const done = () => {
        const raw = document.querySelector(`[data-testid="chart-${CSS.escape(want.key)}"]`)?.getAttribute("data-series");
        const s = raw ? (JSON.parse(raw) as Array<{ name: string; n: number; lastStep: number }>) : [];
        return s.some((x) => x.name === want.runName && x.n === want.n && x.lastStep === want.lastStep);
      };
      const t0 = performance.now();
      const res = await fetch(`/api/v1/runs/${runId}/log`, { method: "POST", headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" }, body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`log failed: ${res.status}`);
      await new Promise<void>((resolve, reject) => {
        if (done()) return resolve();
        const mo = new MutationObserver(() => {
          if (done()) {
            mo.disconnect();
            resolve();
          }
        });
        mo.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-series"] });
        setTimeout(() => reject(new Error(`chart ${want.key} never showed ${want.n} points`)), 10_000);
      });
      return performance.now() - t0;
    },
    { apiKey, runId, body, want },
  );
}

export async function chartOption(page: Page, key: string): Promise<{ lines: number; x: string; y: string }> {
  return JSON.parse((await page.getByTestId(`chart-${key}`).first().getAttribute("data-option")) ?? "{}");
}
