// Run-end mail: to the run's creator when the server has SMTP_URL, the user an email address and the
// notice on; off means nothing is sent. The email settings (PATCH /auth/me) name their bad input. The
// SMTP server is a real one (smtp-server) in this process.
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, createRun, createUser, startHarness, type Harness, type TestUser } from "./harness.js";

type Mail = { to: string[]; raw: string };
let h: Harness;
let smtp: SMTPServer;
const inbox: Mail[] = [];
const waiting: Array<() => void> = [];

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, session, done) {
      let raw = "";
      stream.on("data", (c: Buffer) => (raw += c.toString()));
      stream.on("end", () => {
        inbox.push({ to: session.envelope.rcptTo.map((r) => r.address), raw });
        for (const w of waiting.splice(0)) w();
        done();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", resolve));
  const { port } = smtp.server.address() as { port: number };
  h = await startHarness({ SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_FROM: "Tracker <tracker@example.com>", PUBLIC_URL: "https://tracker.example.com" });
});
afterAll(async () => {
  await h.close();
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
});

async function mails(n: number): Promise<Mail[]> {
  while (inbox.length < n) await new Promise<void>((resolve) => waiting.push(resolve));
  return inbox;
}
const settings = (u: TestUser, body: unknown) => call(h.app, "PATCH", "/api/v1/auth/me", { as: { cookie: u.cookie }, body });

describe("run-end mail", () => {
  it("mails the run's creator, only when they have an address and the notice on", async () => {
    const [ada, bo, cy] = [await createUser(h.app), await createUser(h.app), await createUser(h.app)];
    const me = await call(h.app, "GET", "/api/v1/auth/me", { as: ada });
    expect(me.body.mail).toBe(true);
    expect(me.body.user).toMatchObject({ email: null, notifyRunEnd: true });
    expect((await settings(ada, { email: `${ada.username}@example.com` })).body.user).toMatchObject({ email: `${ada.username}@example.com`, notifyRunEnd: true });
    expect((await settings(bo, { email: `${bo.username}@example.com`, notifyRunEnd: false })).body.user.notifyRunEnd).toBe(false);

    const first = await createRun(h.app, ada, { project: "mail", name: "night-run" });
    await call(h.app, "POST", `/api/v1/runs/${first.id}/finish`, { as: ada, body: { state: "crashed" } });
    const [m] = await mails(1);
    expect(m!.to).toEqual([`${ada.username}@example.com`]);
    expect(m!.raw).toMatch(/^From: Tracker <tracker@example\.com>/m);
    expect(m!.raw).toMatch(new RegExp(`^Subject: Run night-run crashed \\(${ada.username}/mail\\)`, "m"));
    expect(m!.raw).toContain(`https://tracker.example.com/${ada.username}/mail/runs/${first.id}`);

    // Bo turned it off, Cy has no address: nothing for them; Ada's next run is the second mail.
    for (const u of [bo, cy]) {
      const run = await createRun(h.app, u, { project: "mail" });
      await call(h.app, "POST", `/api/v1/runs/${run.id}/finish`, { as: u, body: { state: "finished" } });
    }
    const second = await createRun(h.app, ada, { project: "mail", name: "day-run" });
    await call(h.app, "POST", `/api/v1/runs/${second.id}/finish`, { as: ada, body: { state: "finished" } });
    const all = await mails(2);
    expect(all.map((x) => x.to[0])).toEqual([`${ada.username}@example.com`, `${ada.username}@example.com`]);
    expect(all[1]!.raw).toMatch(/^Subject: Run day-run finished/m);
  });

  it("settings: bad input is named, a taken address is a conflict, null removes it", async () => {
    const [dee, eve] = [await createUser(h.app), await createUser(h.app)];
    const bad = await settings(dee, { email: "not-an-address" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe("body.email");
    expect((await settings(dee, { notifyRunEnd: "yes" })).body.error.field).toBe("body.notifyRunEnd");
    expect((await settings(dee, { email: "shared@example.com" })).status).toBe(200);
    const taken = await settings(eve, { email: "shared@example.com" });
    expect(taken.status).toBe(409);
    expect(taken.body.error.field).toBe("body.email");
    expect((await settings(dee, { email: null })).body.user.email).toBeNull();
    expect((await call(h.app, "PATCH", "/api/v1/auth/me", { body: { notifyRunEnd: false } })).status).toBe(401);
  });
});
