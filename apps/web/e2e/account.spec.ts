// Settings: the email address and run-end notices are saved; changing the password catches a mismatch
// before sending, names a wrong current password, and signs out the other browser (its next page load
// lands on the login page) while this one stays signed in; afterwards only the new password logs in.
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

test("Settings: email notices and the password", async ({ page, browser }, info) => {
  const { username, key } = await signUp(page, "p", info, OLD);

  // Another browser, signed in before the change.
  const elsewhere = await (await browser.newContext()).newPage();
  await logIn(elsewhere, username, OLD);
  await expect(elsewhere).toHaveURL(new RegExp(`/${username}$`));

  await page.goto(`${base()}/settings`);

  // Email notices: saved, and kept across a reload. This server has no SMTP_URL, and says so.
  const mail = page.getByRole("region", { name: "Email" });
  await expect(mail.getByTestId("no-mail")).toBeVisible();
  await mail.getByLabel("Email address").fill(`${username}@example.com`);
  await mail.getByLabel(/Email me when a run/).uncheck();
  await mail.getByRole("button", { name: "Save" }).click();
  await expect(mail.getByRole("status")).toHaveText("Saved.");
  await page.reload();
  await expect(mail.getByLabel("Email address")).toHaveValue(`${username}@example.com`);
  await expect(mail.getByLabel(/Email me when a run/)).not.toBeChecked();

  const pw = page.getByRole("region", { name: "Password" });
  const current = pw.getByLabel("Current password");
  const next = pw.getByLabel("New password", { exact: true });
  const repeat = pw.getByLabel("Repeat the new password");
  const submit = pw.getByRole("button", { name: "Change password" });

  await current.fill(OLD);
  await next.fill(NEW);
  await repeat.fill(NEW + "x");
  await submit.click();
  await expect(pw.getByRole("alert")).toHaveText("The new passwords do not match.");

  await current.fill("not-my-password");
  await repeat.fill(NEW);
  await submit.click();
  await expect(pw.getByRole("alert")).toHaveText("the current password is wrong");

  await current.fill(OLD);
  await submit.click();
  await expect(pw.getByRole("status")).toContainText("Password changed");
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
