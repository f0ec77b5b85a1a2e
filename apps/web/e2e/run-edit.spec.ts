// Editing a run from its page: name, description and tags saved through PATCH, the project page open in
// another tab renames it live, a refused tag is named and nothing is written, and a visitor of a public
// project gets no Edit button.
import { expect, test } from "@playwright/test";
import { base, rest, signUp, waitLive } from "./helpers.js";

test("edit a run's name, description and tags", async ({ page, browser }, info) => {
  const { username, key } = await signUp(page, "e", info);
  const { run } = await rest<{ run: { id: string } }>(key, "POST", "/runs", { project: "edits", name: "run-1", tags: ["old"] });

  const listTab = await page.context().newPage();
  await listTab.goto(`${base()}/${username}/edits`);
  await expect(listTab.getByRole("link", { name: "run-1" })).toBeVisible();
  await waitLive(listTab);

  await page.goto(`${base()}/${username}/edits/runs/${run.id}`);
  await page.getByRole("button", { name: "Edit" }).click();
  const form = page.getByRole("form", { name: "Edit run" });
  await form.getByLabel("Name").fill("baseline, lr 3e-4");
  await form.getByLabel("Description").fill("the run everything else is compared with");
  await form.getByLabel("Tags (comma-separated)").fill(`baseline, old, ${"t".repeat(65)}`);
  await form.getByRole("button", { name: "Save" }).click();
  await expect(form.getByRole("alert")).toContainText("body.tags.2"); // the 65-character tag
  expect(((await rest<{ run: { name: string } }>(key, "GET", `/runs/${run.id}`)).run.name)).toBe("run-1");

  await form.getByLabel("Tags (comma-separated)").fill("baseline, old, baseline");
  await form.getByRole("button", { name: "Save" }).click();
  await expect(form).toBeHidden();
  await expect(page.getByRole("heading", { name: "baseline, lr 3e-4" })).toBeVisible();
  const saved = (await rest<{ run: { name: string; description: string; tags: string[] } }>(key, "GET", `/runs/${run.id}`)).run;
  expect(saved).toMatchObject({ name: "baseline, lr 3e-4", description: "the run everything else is compared with", tags: ["baseline", "old"] });
  await page.getByRole("tab", { name: "Overview" }).click();
  await expect(page.getByText("the run everything else is compared with")).toBeVisible();

  // The project page heard run:updated; its CSV export has the new name.
  await expect(listTab.getByRole("link", { name: "baseline, lr 3e-4" })).toBeVisible();
  const csvHref = await listTab.getByRole("link", { name: "CSV" }).getAttribute("href");
  const csv = await (await page.request.get(`${base()}${csvHref}`)).text();
  expect(csv).toContain(`${run.id},"baseline, lr 3e-4",running,`);

  // A visitor of the public project reads the run but cannot edit it.
  await page.request.patch(`${base()}/api/v1/projects/${username}/edits`, { data: { visibility: "public" } });
  const visitor = await (await browser.newContext()).newPage();
  await visitor.goto(`${base()}/${username}/edits/runs/${run.id}`);
  await expect(visitor.getByRole("heading", { name: "baseline, lr 3e-4" })).toBeVisible();
  await expect(visitor.getByRole("button", { name: "Edit" })).toHaveCount(0);
  await visitor.context().close();
});
