// A server started with SIGNUP=closed (its own, on the shared PostgreSQL): the first visitor signs up
// (the operator), after that the sign-up page says to ask the operator, the navigation offers no
// sign-up, and the login page points to the operator instead.
import { expect, test } from "@playwright/test";
import { sharedPostgres, startServer } from "./server.js";

test("sign-up closed after the first account", async ({ page, browser }) => {
  const server = await startServer({ SIGNUP: "closed", START_WORKER: "0" }, sharedPostgres());
  try {
    await page.goto(`${server.base}/signup`);
    await page.getByLabel("Username").fill("operator");
    await page.getByLabel("Password").fill("a-long-password");
    await page.getByRole("button", { name: "Sign up" }).click();
    await expect(page).toHaveURL(/\/operator$/);

    const visitor = await (await browser.newContext()).newPage();
    await visitor.goto(`${server.base}/signup`);
    await expect(visitor.getByTestId("signup-closed")).toContainText("Sign-up is closed");
    await expect(visitor.getByLabel("Username")).toHaveCount(0);
    await visitor.goto(`${server.base}/login`);
    await expect(visitor.getByText("No account? Ask this server's operator.")).toBeVisible();
    await expect(visitor.locator('a[href="/signup"]')).toHaveCount(0);
    // The navigation of a public page offers logging in only.
    const key = ((await (await page.request.post(`${server.base}/api/v1/api-keys`, { data: { name: "e2e" } })).json()) as { key: string }).key;
    await visitor.request.post(`${server.base}/api/v1/runs`, { headers: { authorization: `Bearer ${key}` }, data: { project: "open-lab" } });
    await page.request.patch(`${server.base}/api/v1/projects/operator/open-lab`, { data: { visibility: "public" } });
    await visitor.goto(`${server.base}/operator/open-lab`);
    const menu = visitor.getByRole("button", { name: "Menu" });
    if (await menu.isVisible()) await menu.click(); // phones fold the navigation
    await expect(visitor.getByRole("navigation").getByRole("link", { name: "Log in" })).toBeVisible();
    await expect(visitor.getByRole("navigation").getByRole("link", { name: "Sign up" })).toHaveCount(0);
    const refused = await visitor.request.post(`${server.base}/api/v1/auth/register`, { data: { username: "stranger", password: "a-long-password" } });
    expect(refused.status()).toBe(403);
    await visitor.context().close();
  } finally {
    await server.stop();
  }
});
