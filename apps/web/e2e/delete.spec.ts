// Deleting from the dashboard: a run from its page (confirm, back to the project, gone from the list and
// the API; other open tabs hear of it live), then the whole project (back to the workspace, gone).
import { expect, test } from "@playwright/test";
import { base, points, rest, signUp, waitLive } from "./helpers.js";

test("delete a run, then its project", async ({ page, browser }, info) => {
  const { username, key } = await signUp(page, "d", info);

  const project = "doomed";
  const runs: string[] = [];
  for (const name of ["keep-me", "delete-me"]) {
    const { run } = await rest<{ run: { id: string } }>(key, "POST", "/runs", { project, name });
    await rest(key, "POST", `/runs/${run.id}/log`, { metrics: points("loss", 0, 50) });
    runs.push(run.id);
  }
  const [kept, doomed] = runs as [string, string];
  const status = async (path: string) => (await fetch(`${base()}/api/v1${path}`, { headers: { authorization: `Bearer ${key}` } })).status;

  // Two more tabs watch: the project page and the doomed run's page.
  const [listTab, runTab] = [await page.context().newPage(), await page.context().newPage()];
  await listTab.goto(`${base()}/${username}/${project}`);
  await expect(listTab.getByText("2 runs", { exact: true })).toBeVisible();
  await runTab.goto(`${base()}/${username}/${project}/runs/${doomed}`);
  await expect(runTab.getByRole("heading", { name: "delete-me" })).toBeVisible();
  await Promise.all([waitLive(listTab), waitLive(runTab)]);

  // A run, from its page: the dialog is confirmed, the project page lists the other run only.
  await page.goto(`${base()}/${username}/${project}/runs/${doomed}`);
  await expect(page.getByRole("heading", { name: "delete-me" })).toBeVisible();
  page.once("dialog", (d) => {
    expect(d.message()).toContain('Delete run "delete-me"');
    void d.accept();
  });
  await page.getByRole("button", { name: "Delete", exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/${username}/${project}$`));
  await expect(page.getByText("1 runs", { exact: true })).toBeVisible();
  await expect(page.getByRole("link", { name: "keep-me" }).first()).toBeVisible();
  await expect(page.getByRole("link", { name: "delete-me" })).toHaveCount(0);
  expect(await status(`/runs/${doomed}`)).toBe(404);
  expect(await status(`/runs/${kept}`)).toBe(200);
  // The other tabs, without a reload.
  await expect(listTab.getByText("1 runs", { exact: true })).toBeVisible();
  await expect(listTab.getByRole("link", { name: "delete-me" })).toHaveCount(0);
  await expect(runTab.getByRole("alert")).toContainText("This run was deleted");
  await Promise.all([listTab.close(), runTab.close()]);

  // A visitor of the (now public) project sees no delete buttons.
  await rest(key, "PATCH", `/projects/${username}/${project}`, { visibility: "public" });
  const anon = await browser.newContext();
  const anonPage = await anon.newPage();
  await anonPage.goto(`${base()}/${username}/${project}/runs/${kept}`);
  await expect(anonPage.getByRole("heading", { name: "keep-me" })).toBeVisible();
  await expect(anonPage.getByRole("button", { name: "Delete", exact: true })).toHaveCount(0);
  await anon.close();

  // Dismissing the dialog deletes nothing.
  page.once("dialog", (d) => void d.dismiss());
  await page.getByRole("button", { name: "Delete project" }).click();
  expect(await status(`/projects/${username}/${project}`)).toBe(200);

  // The project, from its page: back to the workspace, project and run gone.
  page.once("dialog", (d) => {
    expect(d.message()).toContain('Delete project "doomed"');
    void d.accept();
  });
  await page.getByRole("button", { name: "Delete project" }).click();
  await expect(page).toHaveURL(new RegExp(`/${username}$`));
  expect(await status(`/projects/${username}/${project}`)).toBe(404);
  expect(await status(`/runs/${kept}`)).toBe(404);
});
