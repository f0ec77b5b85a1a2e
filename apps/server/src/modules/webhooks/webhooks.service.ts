// Project webhooks: managed by the workspace's owners and admins (a webhook URL is often a secret
// itself, e.g. a Slack incoming webhook), delivered when a run ends. A delivery is a signed POST with a
// 10 s timeout, retried after WEBHOOK_RETRY_SECONDS when refused, timed out, 5xx or 429; each attempt's
// outcome is kept on the webhook for the dashboard. Deliveries run after the run's state is committed
// and never fail the request that ended it. On close, pending retries are dropped and attempts in
// flight are awaited.
import { createHmac, randomBytes } from "node:crypto";
import type { Db } from "@swanhouse/db";
import {
  WEBHOOK_EVENT_HEADER, WEBHOOK_SIGNATURE_HEADER, type CreateWebhookBody, type Run, type Webhook, type WebhookEvent, type WebhookPayload, type WebhookTestPayload,
} from "@swanhouse/contracts";
import type { Actor } from "../../plugins/auth.js";
import { Forbidden, NotFound } from "../../lib/errors.js";
import { newUuid } from "../../lib/ids.js";
import { iso } from "../../lib/serialize.js";
import { createBackgroundTasks } from "../../lib/background.js";
import { projectLink, runLink } from "../../lib/links.js";
import { ADMIN_ROLES, type AccessService } from "../access/access.service.js";

const TIMEOUT_MS = 10_000;

type Hook = { id: string; url: string; secret: string };
type Row = { id: string; url: string; events: string[]; createdAt: Date; lastDeliveryAt: Date | null; lastStatus: number | null; lastError: string | null };

const toWebhook = (r: Row): Webhook => ({
  id: r.id, url: r.url, events: r.events as WebhookEvent[], createdAt: iso(r.createdAt),
  lastDelivery: r.lastDeliveryAt ? { at: iso(r.lastDeliveryAt), status: r.lastStatus, error: r.lastError } : null,
});

export function sign(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export function createWebhooksService(deps: { db: Pick<Db, "prisma">; access: AccessService; publicUrl: string; retrySeconds: readonly number[]; log: (msg: string, err?: unknown) => void }) {
  const { prisma } = deps.db;
  const background = createBackgroundTasks(deps.log);
  const closing = new AbortController();

  async function adminProject(actor: Actor, workspace: string, project: string) {
    const access = await deps.access.projectFor(actor, workspace, project, "write");
    if (!(access.role && ADMIN_ROLES.has(access.role))) throw Forbidden(`role '${access.role}' cannot manage the webhooks of '${workspace}/${project}'`);
    return access.project;
  }

  async function list(actor: Actor, workspace: string, project: string): Promise<Webhook[]> {
    const { id } = await adminProject(actor, workspace, project);
    return (await prisma.webhook.findMany({ where: { projectId: id }, orderBy: { createdAt: "asc" } })).map(toWebhook);
  }

  /** The secret is returned here only (receivers check deliveries with it). */
  async function create(actor: Actor, workspace: string, project: string, body: CreateWebhookBody): Promise<{ webhook: Webhook; secret: string }> {
    const { id: projectId } = await adminProject(actor, workspace, project);
    const secret = randomBytes(24).toString("base64url");
    const row = await prisma.webhook.create({ data: { id: newUuid(), projectId, url: body.url, events: [...new Set(body.events)], secret } });
    return { webhook: toWebhook(row), secret };
  }

  async function remove(actor: Actor, workspace: string, project: string, id: string): Promise<void> {
    const { id: projectId } = await adminProject(actor, workspace, project);
    const { count } = await prisma.webhook.deleteMany({ where: { id, projectId } });
    if (!count) throw NotFound(`webhook '${id}' not found in '${workspace}/${project}'`);
  }

  /** One attempt of a `webhook.test` message, awaited; the webhook with its outcome. */
  async function test(actor: Actor, workspace: string, project: string, id: string): Promise<Webhook> {
    const { id: projectId } = await adminProject(actor, workspace, project);
    const hook = await prisma.webhook.findFirst({ where: { id, projectId } });
    if (!hook) throw NotFound(`webhook '${id}' not found in '${workspace}/${project}'`);
    const url = projectLink(deps.publicUrl, workspace, project);
    const payload: WebhookTestPayload = { event: "webhook.test", text: `Test message from Swanhouse for ${workspace}/${project}: ${url}`, project: { workspace, project, url }, sentAt: new Date().toISOString() };
    await attempt(hook, payload);
    return toWebhook(await prisma.webhook.findUniqueOrThrow({ where: { id } }));
  }

  /** The runs service's onEnded listener: starts the deliveries and returns at once. */
  function runEnded(run: Run): void {
    const event = `run.${run.status}` as WebhookEvent;
    background.run(
      "webhook delivery",
      prisma.webhook.findMany({ where: { projectId: run.projectId, events: { has: event } } }).then(async (hooks) => {
        if (!hooks.length) return;
        const payload = payloadFor(event, run);
        await Promise.all(hooks.map((h) => deliver(h, payload)));
      }),
    );
  }

  function payloadFor(event: WebhookEvent, run: Run): WebhookPayload {
    const url = runLink(deps.publicUrl, run);
    return {
      event,
      text: `Run "${run.name}" in ${run.workspace}/${run.project} ${run.status}: ${url}`,
      run: { id: run.id, name: run.name, status: run.status, workspace: run.workspace, project: run.project, url, finishedAt: run.finishedAt },
      sentAt: new Date().toISOString(),
    };
  }

  /** Attempts, then retries after each of retrySeconds while it fails (refused, timed out, 5xx, 429). */
  async function deliver(hook: Hook, payload: WebhookPayload): Promise<void> {
    for (let n = 0; ; n++) {
      const { status, error } = await attempt(hook, payload);
      const retry = error !== null || status! >= 500 || status === 429;
      const wait = deps.retrySeconds[n];
      if (!retry || wait === undefined || closing.signal.aborted) return;
      if (!(await sleep(wait * 1000, closing.signal))) return;
    }
  }

  /** One signed POST; its outcome is kept on the webhook. */
  async function attempt(hook: Hook, payload: WebhookPayload | WebhookTestPayload): Promise<{ status: number | null; error: string | null }> {
    const body = JSON.stringify(payload);
    const headers = { "content-type": "application/json", "user-agent": "Swanhouse-Webhook/1", [WEBHOOK_SIGNATURE_HEADER]: sign(hook.secret, body), [WEBHOOK_EVENT_HEADER]: payload.event };
    let status: number | null = null;
    let error: string | null = null;
    try {
      // No redirects: a 3xx is reported as it is, not followed to wherever it points.
      const res = await fetch(hook.url, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.timeout(TIMEOUT_MS) });
      status = res.status;
      await res.body?.cancel();
    } catch (err) {
      error = describe(err);
    }
    await prisma.webhook.updateMany({ where: { id: hook.id }, data: { lastDeliveryAt: new Date(), lastStatus: status, lastError: error } });
    return { status, error };
  }

  /** Drops pending retries and waits for the attempts in flight. */
  async function close(): Promise<void> {
    closing.abort();
    await background.close();
  }

  return { list, create, remove, test, runEnded, close };
}
export type WebhooksService = ReturnType<typeof createWebhooksService>;

function describe(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === "TimeoutError") return `no answer in ${TIMEOUT_MS / 1000} s`;
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

/** true after `ms`, false when `signal` aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
