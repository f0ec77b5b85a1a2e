// Project webhooks: when a run of the project ends (finished, crashed — the heartbeat reaper's verdict
// included — or aborted) the server POSTs a WebhookPayload to each subscribed URL, signed with the
// webhook's secret (shown once at creation). `text` makes Slack- and Mattermost-style incoming
// webhooks show a message as they are.
import { z } from "zod";
import { IsoDate } from "./common.js";
import { RunStatus } from "./runs.js";

export const WebhookEvent = z.enum(["run.finished", "run.crashed", "run.aborted"]);
export type WebhookEvent = z.infer<typeof WebhookEvent>;

/** The headers a receiver checks: HMAC-SHA256 of the raw body with the secret, hex, "sha256=" first. */
export const WEBHOOK_SIGNATURE_HEADER = "x-swanhouse-signature";
export const WEBHOOK_EVENT_HEADER = "x-swanhouse-event";

export const CreateWebhookBody = z.object({
  url: z.url({ protocol: /^https?$/, error: "use an http:// or https:// URL" }).max(2000),
  events: z.array(WebhookEvent).min(1).max(3),
});
export type CreateWebhookBody = z.infer<typeof CreateWebhookBody>;

export const Webhook = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(WebhookEvent),
  createdAt: IsoDate,
  /** The last attempt: an HTTP status, or an error (refused, timed out) with status null. */
  lastDelivery: z.object({ at: IsoDate, status: z.number().int().nullable(), error: z.string().nullable() }).nullable(),
});
export type Webhook = z.infer<typeof Webhook>;

export const WebhookResponse = z.object({ webhook: Webhook });
export type WebhookResponse = z.infer<typeof WebhookResponse>;
export const CreatedWebhookResponse = z.object({ webhook: Webhook, secret: z.string() });
export type CreatedWebhookResponse = z.infer<typeof CreatedWebhookResponse>;
export const ListWebhooksResponse = z.object({ webhooks: z.array(Webhook) });
export type ListWebhooksResponse = z.infer<typeof ListWebhooksResponse>;
export const WebhookParams = z.object({ workspace: z.string().min(1).max(64), project: z.string().min(1).max(100), id: z.uuid() });

export const WebhookPayload = z.object({
  event: WebhookEvent,
  text: z.string(),
  run: z.object({ id: z.string(), name: z.string(), status: RunStatus, workspace: z.string(), project: z.string(), url: z.string(), finishedAt: IsoDate.nullable() }),
  sentAt: IsoDate,
});
export type WebhookPayload = z.infer<typeof WebhookPayload>;

/** What "Send test" POSTs (event header `webhook.test`): signed like the others, about no run. */
export const WebhookTestPayload = z.object({
  event: z.literal("webhook.test"),
  text: z.string(),
  project: z.object({ workspace: z.string(), project: z.string(), url: z.string() }),
  sentAt: IsoDate,
});
export type WebhookTestPayload = z.infer<typeof WebhookTestPayload>;
