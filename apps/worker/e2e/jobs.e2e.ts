// Issue 6 end to end, through the browser, on both queue backends: fill in "New fine-tune" → queued →
// the worker runs the real CPU trainer on an init-random tiny Qwen3 and the synthetic set → the loss
// chart grows live on the run page → predictions appear as Text → job succeeded. Then cancel (run
// aborted, job cancelled) and crash (a trainer error: run crashed, job failed with the error shown).
import { expect, test, type Page } from "@playwright/test";

type Chart = { n: number }[];

async function signUp(page: Page, base: string) {
  const username = `e2e${Date.now().toString(36)}`;
  await page.goto(`${base}/signup`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill("a-long-password");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page.getByRole("heading", { name: username })).toBeVisible();
  return username;
}

async function openForm(page: Page) {
  await page.getByRole("link", { name: "Jobs" }).click();
  await expect(page.getByRole("heading", { name: "Fine-tune jobs" })).toBeVisible();
  await page.getByRole("button", { name: "New fine-tune" }).click();
  return page.getByTestId("new-job-form");
}

async function fill(form: ReturnType<Page["getByTestId"]>, values: Record<string, string>) {
  for (const [label, value] of Object.entries(values)) await form.getByLabel(label, { exact: true }).fill(value);
}

const row = (page: Page, runName: string) => page.getByTestId("job-row").filter({ hasText: runName });

for (const backend of ["postgres", "redis"] as const) {
  test.describe(`fine-tune on ${backend}`, () => {
    const base = () => process.env[backend === "redis" ? "E2E_URL_REDIS" : "E2E_URL_POSTGRES"]!;

    test("form → queued → live loss chart → predictions → succeeded; cancel; crash", async ({ page }) => {
      await signUp(page, base());

      // --- validation messages from the form
      let form = await openForm(page);
      await form.getByLabel("Learning rate").fill("fast");
      await form.getByRole("button", { name: "Start fine-tune" }).click();
      await expect(form.getByText("not a number")).toBeVisible();
      await expect(form.getByLabel("Project").locator("..").getByRole("alert")).toBeVisible();

      // --- a real CPU fine-tune on the synthetic set
      await fill(form, {
        Project: "news", "Run name": "tiny-lora", "Training samples": "160", "Test samples": "8",
        "Learning rate": "0.01", Epochs: "1", "Micro-batch": "8", "Gradient accumulation": "1", "Max length": "128", Seed: "1",
      });
      await form.getByRole("button", { name: "Start fine-tune" }).click();
      await expect(page.getByTestId("new-job-form")).toBeHidden();
      const job = row(page, "tiny-lora");
      await expect(job.getByTestId("job-status")).toHaveAttribute("data-status", /queued|running/);
      await expect(job.getByTestId("job-progress")).toContainText(/step \d+\/20/, { timeout: 120_000 });

      // --- the run page: the loss chart grows while the job runs
      await job.getByTestId("job-run-link").click();
      const loss = page.getByTestId("chart-train/loss").first();
      await expect(loss).toBeVisible({ timeout: 30_000 });
      const count = async () => ((JSON.parse((await loss.getAttribute("data-series")) ?? "[]") as Chart)[0]?.n ?? 0);
      await expect.poll(count, { timeout: 60_000 }).toBeGreaterThan(0);
      const first = await count();
      await expect.poll(count, { timeout: 60_000 }).toBeGreaterThan(first);
      expect(first).toBeLessThan(20); // seen before the end: the chart moved live
      await expect.poll(count, { timeout: 300_000 }).toBe(20);
      for (const key of ["train/grad_norm", "train/learning_rate", "train/epoch", "train/global_step"]) {
        await expect(page.getByTestId(`chart-${key}`).first()).toBeVisible();
      }

      // --- predictions as Text: system, user and assistant messages, caption = predicted label
      const item = page.getByTestId("text-item").first();
      await expect(item).toBeVisible({ timeout: 60_000 });
      await expect(item.locator("pre")).toContainText("system: 你是一个文本分类领域的专家");
      await expect(item.locator("pre")).toContainText("assistant: ");
      await expect(item.locator(".caption")).not.toBeEmpty();
      await expect(page.getByTestId("status-badge")).toHaveAttribute("data-status", "finished", { timeout: 60_000 });
      await page.getByRole("tab", { name: "Overview" }).click();
      await expect(page.getByTestId("config-table")).toContainText("loraAlpha");
      await expect(page.getByTestId("config-table")).toContainText("model_config.hidden_size");

      await page.getByRole("link", { name: "Jobs" }).click();
      await expect(row(page, "tiny-lora").getByTestId("job-status")).toHaveAttribute("data-status", "succeeded", { timeout: 30_000 });

      // --- cancel a running job: the trainer gets SIGTERM, the run ends aborted
      form = await openForm(page);
      await fill(form, { Project: "news", "Run name": "to-cancel", "Training samples": "400", "Test samples": "4", "Max length": "128", Epochs: "20" });
      await form.getByRole("button", { name: "Start fine-tune" }).click();
      const cancelRow = row(page, "to-cancel");
      await expect(cancelRow.getByTestId("job-progress")).toContainText(/step [1-9]\d*\//, { timeout: 120_000 });
      await cancelRow.getByRole("button", { name: "Cancel" }).click();
      await expect(cancelRow.getByTestId("job-status")).toHaveAttribute("data-status", "cancelled", { timeout: 30_000 });
      await cancelRow.getByTestId("job-run-link").click();
      await expect(page.getByTestId("status-badge")).toHaveAttribute("data-status", "aborted");

      // --- a trainer error (a token id outside the vocabulary): run crashed, job failed with the message
      await page.getByRole("link", { name: "Jobs" }).click();
      form = await openForm(page);
      await fill(form, { Project: "news", "Run name": "to-crash" });
      await form.getByLabel("Data").selectOption("upload");
      await form.getByLabel("Training JSONL").setInputFiles({
        name: "bad.jsonl", mimeType: "application/json",
        buffer: Buffer.from(JSON.stringify({ input_ids: [1, 2, 99999999], labels: [-100, 2, 99999999] }) + "\n"),
      });
      await form.getByRole("button", { name: "Start fine-tune" }).click();
      const crashRow = row(page, "to-crash");
      await expect(crashRow.getByTestId("job-status")).toHaveAttribute("data-status", "failed", { timeout: 60_000 });
      await expect(crashRow.getByTestId("job-error")).toContainText("outside the model vocabulary");
      await expect(crashRow.getByTestId("job-error")).toContainText("last stderr lines");
      await crashRow.getByTestId("job-run-link").click();
      await expect(page.getByTestId("status-badge")).toHaveAttribute("data-status", "crashed");
      await page.getByRole("tab", { name: "Logs" }).click();
      await expect(page.getByTestId("logs")).toContainText("outside the model vocabulary");
    });
  });
}
