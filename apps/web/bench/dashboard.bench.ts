// Run page under load: a run with KEYS metric keys × POINTS points each. Measures time to the first chart
// drawn (navigation start → first ECharts frame with data, median of REPEATS loads) and, while
// STREAM_RATE points/s stream in for STREAM_SECONDS, the page's responsiveness (main-thread stalls from a
// 50 ms probe, long tasks, frame gaps) and how fast the charts follow. Writes test-results/bench.json.
import fs from "node:fs";
import { expect, test } from "@playwright/test";
import { base } from "../e2e/helpers.js";

const KEYS = Number(process.env.BENCH_KEYS ?? 20);
const POINTS = Number(process.env.BENCH_POINTS ?? 50_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const STREAM_RATE = 1000;
const STREAM_SECONDS = Number(process.env.BENCH_STREAM_SECONDS ?? 10);
const BATCH = 10_000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0;
const keyName = (k: number) => `${k < 10 ? "train" : "eval"}/metric_${String(k).padStart(2, "0")}`;

async function post(url: string, body: unknown, headers: Record<string, string>) {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return res;
}

test("run page: 20 keys × 50k points, then 1,000 points/s", async ({ page, context }) => {
  const b = base();
  const username = `bench${Date.now().toString(36)}`;
  const reg = await post(`${b}/api/v1/auth/register`, { username, password: "a-long-password" }, {});
  const cookie = reg.headers.get("set-cookie")!.split(";")[0]!;
  const { key } = (await (await post(`${b}/api/v1/api-keys`, { name: "bench" }, { cookie })).json()) as { key: string };
  const auth = { authorization: `Bearer ${key}` };
  const { run } = (await (await post(`${b}/api/v1/runs`, { project: "bench", name: "big-run" }, auth)).json()) as { run: { id: string } };

  // --- ingest KEYS × POINTS (setup, timed only for the record)
  const t0 = Date.now();
  const start = Date.now() - POINTS * 1000;
  const all: Array<{ key: string; step: number; value: number; time: number }> = [];
  for (let s = 0; s < POINTS; s++) for (let k = 0; k < KEYS; k++) all.push({ key: keyName(k), step: s, value: Math.exp(-s / 10_000) * (1 + k / 10) + 0.05 * Math.sin(s / 50 + k), time: start + s * 1000 });
  for (let i = 0; i < all.length; i += BATCH) await post(`${b}/api/v1/runs/${run.id}/log`, { metrics: all.slice(i, i + BATCH) }, auth);
  const ingestSeconds = (Date.now() - t0) / 1000;
  console.log(`ingested ${all.length} points in ${ingestSeconds.toFixed(1)} s`);

  const [name, value] = cookie.split("=") as [string, string];
  await context.addCookies([{ name, value, url: b }]);
  const url = `${b}/${username}/bench/runs/${run.id}`;

  // --- time to first chart drawn (first load warms the HTTP cache of the bundle; report all)
  const firstChart: number[] = [];
  const allCharts: number[] = [];
  for (let i = 0; i < REPEATS + 1; i++) {
    await page.goto(url);
    await page.waitForFunction(() => window.__firstChartDrawnAt !== undefined, undefined, { timeout: 60_000, polling: 10 });
    const ms = await page.evaluate(() => window.__firstChartDrawnAt!);
    // Every chart in the viewport has its line (charts below load as they scroll into view).
    await page.waitForFunction(() => {
      const figs = [...document.querySelectorAll("figure[data-series]")].filter((f) => f.getBoundingClientRect().top < window.innerHeight);
      return figs.length > 0 && figs.every((f) => (JSON.parse(f.getAttribute("data-series") ?? "[]") as Array<{ n: number }>)[0]?.n);
    }, undefined, { timeout: 60_000, polling: 20 });
    const allMs = await page.evaluate(() => performance.now());
    const onScreen = await page.evaluate(() => [...document.querySelectorAll("figure[data-series]")].filter((f) => f.getBoundingClientRect().top < window.innerHeight).length);
    console.log(`load ${i}${i === 0 ? " (cold cache)" : ""}: first chart drawn at ${ms.toFixed(0)} ms, all ${onScreen} charts on screen by ~${allMs.toFixed(0)} ms`);
    // Where the time went: the script and the API requests, navigation start → response end.
    const timeline = await page.evaluate(() =>
      performance.getEntriesByType("resource")
        .filter((e) => e.name.includes("/assets/") || e.name.includes("/api/v1/"))
        .map((e) => `${new URL(e.name).pathname.replace(/^.*\/(metrics|runs|auth|assets)/, "$1").slice(0, 40)}${new URL(e.name).search.slice(0, 30)} ${e.startTime.toFixed(0)}→${(e as PerformanceResourceTiming).responseEnd.toFixed(0)}`)
        .slice(0, 8),
    );
    if (i === REPEATS) console.log(`  timeline (ms): ${timeline.join(" | ")}`);
    if (i > 0) {
      firstChart.push(ms);
      allCharts.push(allMs);
    }
  }

  // --- stream STREAM_RATE points/s (KEYS keys, batches every 100 ms) while probing the main thread
  await page.evaluate(() => {
    const w = window as unknown as { __probe: { lags: number[]; longTasks: number[]; frames: number[]; stop: boolean } };
    w.__probe = { lags: [], longTasks: [], frames: [], stop: false };
    let expected = performance.now() + 50;
    const tick = () => {
      const now = performance.now();
      w.__probe.lags.push(Math.max(0, now - expected));
      expected = now + 50;
      if (!w.__probe.stop) setTimeout(tick, 50);
    };
    setTimeout(tick, 50);
    new PerformanceObserver((l) => l.getEntries().forEach((e) => w.__probe.longTasks.push(e.duration))).observe({ type: "longtask" });
    let last = performance.now();
    const frame = (t: number) => {
      w.__probe.frames.push(t - last);
      last = t;
      if (!w.__probe.stop) requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
  const perBatch = STREAM_RATE / 10;
  const stepsPerBatch = Math.max(1, Math.round(perBatch / KEYS));
  let step = POINTS;
  const streamStart = Date.now();
  let sent = 0;
  for (let i = 0; i < STREAM_SECONDS * 10; i++) {
    const metrics = [];
    for (let s = 0; s < stepsPerBatch; s++, step++) for (let k = 0; k < KEYS; k++) metrics.push({ key: keyName(k), step, value: Math.random() });
    sent += metrics.length;
    await post(`${b}/api/v1/runs/${run.id}/log`, { metrics }, auth);
    const wait = streamStart + (i + 1) * 100 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const streamSeconds = (Date.now() - streamStart) / 1000;
  const lastStep = step - 1;
  // The charts caught up: the first chart on the page ends at the last step sent.
  const caughtUp = Date.now();
  const firstFigure = page.locator("figure[data-series]").first();
  await expect
    .poll(async () => JSON.parse((await firstFigure.getAttribute("data-series")) ?? "[]")[0]?.lastStep, { timeout: 10_000, intervals: [20] })
    .toBe(lastStep);
  const catchUpMs = Date.now() - caughtUp;
  // A click during the stream is answered promptly: switch tabs and back.
  const c0 = Date.now();
  await page.getByRole("tab", { name: "Overview" }).click();
  await expect(page.getByTestId("config-table").or(page.getByText("No config logged."))).toBeVisible();
  const clickMs = Date.now() - c0;
  await page.getByRole("tab", { name: "Charts" }).click();
  const probe = await page.evaluate(() => {
    const w = window as unknown as { __probe: { lags: number[]; longTasks: number[]; frames: number[]; stop: boolean } };
    w.__probe.stop = true;
    return w.__probe;
  });

  const result = {
    machine: `${process.platform} ${process.arch}, Chromium ${page.context().browser()?.version()}`,
    keys: KEYS,
    pointsPerKey: POINTS,
    ingestSeconds,
    firstChartDrawnMs: { median: median(firstChart), all: firstChart },
    onScreenChartsLoadedMs: { median: median(allCharts), all: allCharts },
    stream: {
      pointsPerSecond: Math.round(sent / streamSeconds),
      seconds: streamSeconds,
      mainThreadLagMs: { p50: pct(probe.lags, 0.5), p95: pct(probe.lags, 0.95), max: Math.max(...probe.lags) },
      longTasks: { count: probe.longTasks.length, maxMs: Math.max(0, ...probe.longTasks) },
      frameGapMs: { p50: pct(probe.frames, 0.5), p95: pct(probe.frames, 0.95), max: Math.max(...probe.frames) },
      chartCaughtUpAfterStreamMs: catchUpMs,
      tabSwitchMs: clickMs,
    },
  };
  console.log(JSON.stringify(result, null, 2));
  fs.mkdirSync("test-results", { recursive: true });
  fs.writeFileSync("test-results/bench.json", JSON.stringify(result, null, 2));
});
