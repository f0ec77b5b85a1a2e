// Changing the password from Settings: a mismatch is caught before sending, a wrong current password is
// named, and a change signs out the other browser (its next page load lands on the login page) while
// this one stays signed in; afterwards only the new password logs in.
import { expect, test, type Page } from "@playwright/test";
import { base, rest, signUp } from "./helpers.js";

const OLD = "a-long-password";
const NEW = "a-newer-longer-password";

async function logIn(page: Page, username: string, password: string) {
  await page.goto(`${base()}/login`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

test("change the password from Settings", async ({ page, browser }, info) => {
  const { username, key } = await signUp(page, "p", info, OLD);

  // Another browser, signed in before the change.
  const elsewhere = await (await browser.newContext()).newPage();
  await logIn(elsewhere, username, OLD);
  await expect(elsewhere).toHaveURL(new RegExp(`/${username}$`));

  await page.goto(`${base()}/settings`);
  const current = page.getByLabel("Current password");
  const next = page.getByLabel("New password", { exact: true });
  const repeat = page.getByLabel("Repeat the new password");
  const submit = page.getByRole("button", { name: "Change password" });

  await current.fill(OLD);
  await next.fill(NEW);
  await repeat.fill(NEW + "x");
  await submit.click();
  await expect(page.getByRole("alert")).toHaveText("The new passwords do not match.");

  await current.fill("not-my-password");
  await repeat.fill(NEW);
  await submit.click();
  await expect(page.getByRole("alert")).toHaveText("the current password is wrong");

  await current.fill(OLD);
  await submit.click();
  await expect(page.getByRole("status")).toContainText("Password changed");
  await expect(current).toHaveValue("");

  // This browser is still signed in; the other one is not.
  await page.reload();
  await expect(page.getByLabel("Current password")).toBeVisible();
  await elsewhere.goto(`${base()}/settings`);
  await expect(elsewhere).toHaveURL(/\/login$/);
  await elsewhere.context().close();

  // Only the new password logs in now.
  const fresh = await (await browser.newContext()).newPage();
  await logIn(fresh, username, OLD);
  await expect(fresh.getByRole("alert")).toContainText("wrong username or password");
  await logIn(fresh, username, NEW);
  await expect(fresh).toHaveURL(new RegExp(`/${username}$`));
  await fresh.context().close();
  // API keys are not sessions: scripts keep logging.
  expect((await rest<{ user: { username: string } }>(key, "GET", "/auth/me")).user.username).toBe(username);
});
