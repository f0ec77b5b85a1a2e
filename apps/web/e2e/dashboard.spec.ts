// The smoke flow, at desktop size and on a phone: sign up → API key → open a run page → log through the
// REST API → the chart's data shows the points within 1 s → a Text prediction appears → the socket drops
// and comes back without duplicated or missing points → two runs compared on the project page → a
// public project read logged out. Screenshots go to apps/web/test-results/.
import { expect, test } from "@playwright/test";
import { base, chartOption, points, rest, shot, timeLiveLog, waitForChart, waitLive } from "./helpers.js";

test("sign up, key, live run page, texts, reconnect, compare", async ({ page, browser }, info) => {
  const phone = info.project.name === "phone";
  const username = `u${Date.now().toString(36)}${info.project.name.slice(0, 2)}`;
  const project = "e2e-proj";

  // --- sign up
  await page.goto(`${base()}/signup`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill("a-long-password");
  await shot(page, "01-signup", info.project.name);
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page).toHaveURL(new RegExp(`/${username}$`));
  await expect(page.getByRole("heading", { name: username })).toBeVisible();
  if (phone) {
    // Collapsed navigation: the menu button opens it.
    await expect(page.getByRole("link", { name: "Settings" })).toBeHidden();
    await page.getByRole("button", { name: "Menu" }).click();
    await expect(page.getByRole("link", { name: "Settings" })).toBeVisible();
    await shot(page, "02-nav-open", info.project.name);
  }

  // --- API key, shown once, and the CLI login command for this server
  await page.goto(`${base()}/settings`);
  await expect(page.getByTestId("login-command")).toHaveText(`swanlab login --host ${base()}`);
  await page.getByLabel("Key name").fill("e2e");
  await page.getByRole("button", { name: "Create key" }).click();
  const key = (await page.getByTestId("new-key-value").textContent())!.trim();
  expect(key).toMatch(/^[A-Za-z0-9]{21}$/);
  await expect(page.getByTestId("api-key-row")).toHaveCount(1);
  await shot(page, "03-settings-key", info.project.name);

  // --- a run exists; its page is open before anything is logged
  const { run } = await rest<{ run: { id: string } }>(key, "POST", "/runs", { project, name: "run-a", config: { lr: 0.001, model: { name: "qwen3-0.6b", rank: 8 } }, tags: ["e2e"] });
  await rest(key, "PATCH", `/runs/${run.id}`, { metadata: { hardware: { cpu: "test-cpu", gpu: "none" }, python: "3.12" }, requirements: "swanlab==0.6\ntorch==2.5\n" });
  await page.goto(`${base()}/${username}/${project}/runs/${run.id}`);
  await expect(page.getByTestId("no-metrics")).toBeVisible();
  await expect(page.getByTestId("status-badge")).toHaveAttribute("data-status", "running");
  await waitLive(page);

  // --- logged through REST: the chart's data shows the points live, without a reload (timeLiveLog fails
  // after 10 s; the time is printed, and measured properly by the dashboard bench, not asserted here)
  let ms = await timeLiveLog(page, key, run.id, { metrics: points("train/loss", 0, 50) }, { key: "train/loss", runName: "run-a", n: 50, lastStep: 49 });
  console.log(`[${info.project.name}] first points in the chart's data after ${ms.toFixed(0)} ms`);
  let t0 = Date.now();
  ms = await timeLiveLog(page, key, run.id, { metrics: [...points("train/loss", 50, 100), ...points("train/lr", 0, 100, () => 1e-4)] }, { key: "train/loss", runName: "run-a", n: 100, lastStep: 99 });
  console.log(`[${info.project.name}] appended points in the chart's data after ${ms.toFixed(0)} ms`);
  await waitForChart(page, "train/lr", (s) => s[0]?.n === 100, t0);
  const drawn = await page.evaluate(() => Object.values(window.__charts ?? {}).find((c) => c.key === "train/loss")?.series[0]?.steps.length);
  expect(drawn).toBe(100);

  // --- a Text prediction appears, whitespace kept
  const prediction = "Q: 2+2?\n  A: 4\n\tdone";
  await rest(key, "POST", `/runs/${run.id}/log`, { texts: [{ key: "eval/predictions", step: 100, text: prediction, caption: "sample 0" }] });
  const item = page.getByTestId("text-item").first();
  await expect(item).toBeVisible({ timeout: 3000 });
  expect(await item.locator("pre").evaluate((el) => el.textContent)).toBe(prediction);
  await expect(item.locator(".caption")).toHaveText("sample 0");
  await shot(page, "04-run-charts", info.project.name);

  // --- the socket drops: banner, reconnect, resubscribe, refetch; points logged meanwhile arrive once
  await page.evaluate(() => window.__swanhouseSocket!.simulateDrop());
  await expect(page.getByTestId("connection-banner")).toBeVisible();
  await rest(key, "POST", `/runs/${run.id}/log`, { metrics: points("train/loss", 100, 150) });
  await expect(page.getByTestId("connection-banner")).toBeHidden({ timeout: 10_000 });
  await waitForChart(page, "train/loss", (s) => s[0]?.n === 150 && s[0]?.lastStep === 149, Date.now());
  const steps = await page.evaluate(() => Object.values(window.__charts ?? {}).find((c) => c.key === "train/loss")!.series[0]!.steps);
  expect(steps).toEqual(Array.from({ length: 150 }, (_, i) => i));

  // --- chart settings: smoothing draws a second (EMA) line per run, log y, wall-time x
  await page.getByLabel("Smoothing").fill("0.8");
  await expect.poll(async () => (await chartOption(page, "train/loss")).lines).toBe(2);
  await page.getByLabel("Log scale").check();
  await page.getByLabel("X axis").selectOption("wall");
  await expect.poll(async () => chartOption(page, "train/loss")).toEqual({ lines: 2, x: "time", y: "log" });
  await page.getByLabel("Smoothing").fill("0");
  await page.getByLabel("Log scale").uncheck();
  await page.getByLabel("X axis").selectOption("step");
  await expect.poll(async () => chartOption(page, "train/loss")).toEqual({ lines: 1, x: "value", y: "value" });

  // --- zoom into a downsampled line: the zoomed range comes back at full resolution
  await rest(key, "POST", `/runs/${run.id}/log`, { metrics: points("train/long", 0, 6000) });
  await page.getByTestId("chart-train/long").scrollIntoViewIfNeeded();
  await waitForChart(page, "train/long", (s) => s[0]?.lastStep === 5999, Date.now());
  const before = await page.evaluate(() => Object.values(window.__charts ?? {}).find((c) => c.key === "train/long")!.series[0]!.steps);
  expect(before.length).toBeLessThanOrEqual(2000);
  expect(before.filter((s) => s >= 3000 && s <= 3300).length).toBeLessThan(301);
  await page.evaluate(() => Object.values(window.__charts ?? {}).find((c) => c.key === "train/long")!.zoom(3000, 3300));
  await expect
    .poll(() => page.evaluate(() => Object.values(window.__charts ?? {}).find((c) => c.key === "train/long")!.series[0]!.steps.filter((s) => s >= 3000 && s <= 3300).length))
    .toBe(301);

  // --- overview and logs
  await page.getByRole("tab", { name: "Overview" }).click();
  await expect(page.getByTestId("config-table")).toContainText("model.rank");
  await expect(page.getByTestId("metadata-table")).toContainText("test-cpu");
  await expect(page.locator(".requirements")).toContainText("torch==2.5");
  await shot(page, "05-run-overview", info.project.name);
  await page.getByRole("tab", { name: "Logs" }).click();
  await rest(key, "POST", `/runs/${run.id}/log`, { logs: [{ message: "epoch 1 done" }, { level: "error", message: "oops" }] });
  await expect(page.getByTestId("logs")).toContainText("epoch 1 done");

  // --- a second run, then both compared on the project page
  const { run: runB } = await rest<{ run: { id: string } }>(key, "POST", "/runs", { project, name: "run-b", tags: ["baseline"] });
  await rest(key, "POST", `/runs/${runB.id}/log`, { metrics: points("train/loss", 0, 80, (s) => 2 / (s + 1)) });
  await rest(key, "POST", `/runs/${run.id}/finish`, { state: "finished" });
  await page.goto(`${base()}/${username}/${project}`);
  await expect(page.getByTestId("run-row")).toHaveCount(2);
  await page.getByTestId("chart-train/loss").scrollIntoViewIfNeeded(); // charts load when they come into view
  await waitForChart(page, "train/loss", (s) => s.length === 2 && s.some((x) => x.name === "run-a" && x.n === 150) && s.some((x) => x.name === "run-b" && x.n === 80), Date.now());
  // Live on the project page too.
  await waitLive(page);
  t0 = Date.now();
  await rest(key, "POST", `/runs/${runB.id}/log`, { metrics: points("train/loss", 80, 90) });
  await waitForChart(page, "train/loss", (s) => s.some((x) => x.name === "run-b" && x.n === 90), t0);
  await shot(page, "06-project-compare", info.project.name);
  // Unpick run-a: one line left; filter by status.
  await page.getByLabel("Compare run-a").uncheck();
  await waitForChart(page, "train/loss", (s) => s.length === 1 && s[0]!.name === "run-b", Date.now());
  await page.getByLabel("Status filter").selectOption("finished");
  await expect(page.getByTestId("run-row")).toHaveCount(1);
  await expect(page.getByTestId("run-row").first()).toContainText("run-a");
  if (phone) {
    await expect(page.locator(".runs-table thead")).toBeHidden(); // rows are cards
    const widths = await page.locator(".chart-card").evaluateAll((els) => els.map((e) => e.getBoundingClientRect().width));
    for (const w of widths) expect(w).toBeGreaterThan(330); // one chart per row
  }

  // --- an empty project shows how to log; a public project is readable logged out
  await rest(key, "POST", `/workspaces/${username}/projects`, { name: "empty-proj", visibility: "public" });
  await page.goto(`${base()}/${username}/empty-proj`);
  await expect(page.getByTestId("how-to-log")).toContainText(`swanlab login --host ${base()}`);
  await shot(page, "07-empty-project", info.project.name);
  await rest(key, "PATCH", `/projects/${username}/${project}`, { visibility: "public" });
  const anon = await browser.newContext(phone ? { viewport: { width: 390, height: 844 } } : {});
  const anonPage = await anon.newPage();
  await anonPage.goto(`${base()}/${username}/${project}`);
  await expect(anonPage.getByTestId("run-row")).toHaveCount(2);
  await expect(anonPage.locator('a[href="/login"]')).toBeAttached(); // logged out, read-only
  await expect(anonPage.getByLabel("Compare run-a")).toBeVisible();
  await expect(anonPage.getByText("public · read-only")).toBeVisible();
  await expect(anonPage.getByLabel("Visibility")).toHaveCount(0);
  await expect(anonPage.getByRole("button", { name: "Delete project" })).toHaveCount(0);
  await anonPage.getByTestId("chart-train/loss").scrollIntoViewIfNeeded();
  await waitForChart(anonPage, "train/loss", (s) => s.length > 0 && s.every((x) => x.n > 0), Date.now());
  await shot(anonPage, "08-public-logged-out", info.project.name);
  await anon.close();
});

test("team page: admins add members, change roles and remove them; PNG download", async ({ page, context }, info) => {
  const suffix = `${Date.now().toString(36)}${info.project.name.slice(0, 2)}`;
  const register = async (username: string) => {
    const res = await fetch(`${base()}/api/v1/auth/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username, password: "a-long-password" }) });
    expect(res.status).toBe(201);
    return res.headers.get("set-cookie")!.split(";")[0]!;
  };
  const owner = `own${suffix}`;
  const other = `mem${suffix}`;
  const cookie = await register(owner);
  await register(other);
  const [name, value] = cookie.split("=") as [string, string];
  await context.addCookies([{ name, value, url: base() }]);
  const team = `team${suffix}`;
  const res = await fetch(`${base()}/api/v1/teams`, { method: "POST", headers: { "content-type": "application/json", cookie }, body: JSON.stringify({ name: team }) });
  expect(res.status).toBe(201);

  // The switcher lists personal and team workspaces.
  await page.goto(`${base()}/${owner}`);
  if (info.project.name === "phone") await page.getByRole("button", { name: "Menu" }).click();
  await page.getByLabel("Workspace").selectOption(team);
  await expect(page).toHaveURL(new RegExp(`/${team}$`));
  await page.goto(`${base()}/teams/${team}`);
  await expect(page.getByTestId("member-row")).toHaveCount(1);
  await page.getByLabel("Username to add").fill(other);
  await page.getByLabel("Role", { exact: true }).selectOption("viewer");
  await page.getByRole("button", { name: "Add member" }).click();
  await expect(page.getByTestId("member-row")).toHaveCount(2);
  await page.getByLabel(`Role of ${other}`).selectOption("admin");
  await expect.poll(async () => {
    const r = await fetch(`${base()}/api/v1/workspaces/${team}/members`, { headers: { cookie } });
    return ((await r.json()) as { members: Array<{ username: string; role: string }> }).members.find((m) => m.username === other)?.role;
  }).toBe("admin");
  await shot(page, "09-team", info.project.name);
  page.once("dialog", (d) => void d.accept());
  await page.getByTestId("member-row").filter({ hasText: other }).getByRole("button", { name: "Remove" }).click();
  await expect(page.getByTestId("member-row")).toHaveCount(1);

  // A chart downloads as PNG.
  const { key } = (await (await fetch(`${base()}/api/v1/api-keys`, { method: "POST", headers: { "content-type": "application/json", cookie }, body: JSON.stringify({ name: "k" }) })).json()) as { key: string };
  const { run } = await rest<{ run: { id: string } }>(key, "POST", "/runs", { project: "png", workspace: team, name: "r" });
  await rest(key, "POST", `/runs/${run.id}/log`, { metrics: points("loss", 0, 20) });
  await page.goto(`${base()}/${team}/png/runs/${run.id}`);
  await waitForChart(page, "loss", (s) => s[0]?.n === 20, Date.now());
  const download = page.waitForEvent("download");
  await page.getByRole("button", { name: "Download loss as PNG" }).click();
  expect((await download).suggestedFilename()).toBe("loss.png");
});
