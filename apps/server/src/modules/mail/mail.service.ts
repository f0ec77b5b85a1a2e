// Email when a run ends (finished, crashed — the heartbeat reaper's verdict included — or aborted), to
// the user who created it, if the server has SMTP_URL, the user an email address and notifyRunEnd on
// (Settings). Sent in the background after the run's state is committed (nodemailer over SMTP); a
// failure is logged, never answered to the request that ended the run.
import nodemailer, { type Transporter } from "nodemailer";
import type { Db } from "@swanhouse/db";
import type { Run } from "@swanhouse/contracts";
import { createBackgroundTasks } from "../../lib/background.js";
import { runLink } from "../../lib/links.js";

export function createMailService(deps: { db: Pick<Db, "prisma">; smtpUrl: string | undefined; from: string; publicUrl: string; log: (msg: string, err?: unknown) => void }) {
  const { prisma } = deps.db;
  const transport = deps.smtpUrl ? nodemailer.createTransport(deps.smtpUrl) : undefined;
  const background = createBackgroundTasks(deps.log);

  /** The runs service's onEnded listener. */
  function runEnded(run: Run): void {
    if (transport) background.run("run-end mail", notify(transport, run));
  }

  async function notify(t: Transporter, run: Run): Promise<void> {
    const row = await prisma.run.findUnique({ where: { id: run.id }, select: { createdById: true } });
    const user = row?.createdById ? await prisma.user.findUnique({ where: { id: row.createdById }, select: { email: true, notifyRunEnd: true } }) : null;
    if (!user?.email || !user.notifyRunEnd) return;
    const link = runLink(deps.publicUrl, run);
    await t.sendMail({
      from: deps.from,
      to: user.email,
      subject: `Run ${run.name} ${run.status} (${run.workspace}/${run.project})`,
      text: [
        `Your run "${run.name}" in ${run.workspace}/${run.project} ${run.status}.`,
        "",
        link,
        "",
        "You get this mail because run-end notices are on in your Swanhouse settings.",
      ].join("\n"),
    });
  }

  async function close(): Promise<void> {
    await background.close();
    transport?.close();
  }

  return { enabled: transport !== undefined, runEnded, close };
}
export type MailService = ReturnType<typeof createMailService>;
