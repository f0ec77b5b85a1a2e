// Notifications from the project page: an admin adds a webhook (the secret shown once) and sends it a
// test message, a run that crashes is POSTed to it signed with that secret, the row shows the delivery,
// and it can be deleted.
// A visitor of the public project sees no notifications. The receiver is a real HTTP server here.
import http from "node:http";
import { createHmac } from "node:crypto";
import { expect, test } from "@playwright/test";
import { base, rest, signUp } from "./helpers.js";

test("a webhook hears a run crash", async ({ page, browser }, info) => {
  const got: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  const receiver = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      got.push({ headers: req.headers, body });
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  try {
    const { username, key } = await signUp(page, "w", info);
    const { run } = await rest<{ run: { id: string } }>(key, "POST", "/runs", { project: "alerts", name: "overnight" });
    await page.goto(`${base()}/${username}/alerts`);
    const card = page.getByRole("region", { name: "Notifications" });
    await card.getByLabel("Webhook URL").fill(hookUrl);
    await expect(card.getByLabel("crashed")).toBeChecked();
    await card.getByRole("button", { name: "Add webhook" }).click();
    const secret = (await card.getByTestId("webhook-secret").locator("code").textContent())!;
    expect(secret.length).toBeGreaterThan(20);
    await expect(card.getByTestId("webhook-last")).toHaveText("not yet");

    await card.getByRole("button", { name: "Send test" }).click();
    await expect.poll(() => got.length).toBe(1);
    expect(got[0]!.headers["x-swanhouse-event"]).toBe("webhook.test");
    await expect(card.getByTestId("webhook-last")).toHaveText(/^200 · /);

    await rest(key, "POST", `/runs/${run.id}/finish`, { state: "crashed" });
    await expect.poll(() => got.length).toBe(2);
    const delivery = got[1];
    expect(delivery!.headers["x-swanhouse-signature"]).toBe(`sha256=${createHmac("sha256", secret).update(delivery!.body).digest("hex")}`);
    expect(JSON.parse(delivery!.body)).toMatchObject({ event: "run.crashed", run: { id: run.id, name: "overnight", status: "crashed" } });
    await expect(card.getByTestId("webhook-last")).toHaveText(/^200 · /);

    // A visitor of the public project sees no notifications.
    await page.request.patch(`${base()}/api/v1/projects/${username}/alerts`, { data: { visibility: "public" } });
    const visitor = await (await browser.newContext()).newPage();
    await visitor.goto(`${base()}/${username}/alerts`);
    await expect(visitor.getByRole("link", { name: "overnight" })).toBeVisible();
    await expect(visitor.getByRole("region", { name: "Notifications" })).toHaveCount(0);
    await visitor.context().close();

    page.once("dialog", (d) => void d.accept());
    await card.getByRole("button", { name: "Delete" }).click();
    await expect(card.getByTestId("webhook-row")).toHaveCount(0);
  } finally {
    await new Promise((resolve) => receiver.close(resolve));
  }
});
