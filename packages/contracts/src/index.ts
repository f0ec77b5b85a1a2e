// @swanhouse/contracts: one zod schema per wire shape, shared by server, SDK, dashboard and worker.
export * from "./common.js";
export * from "./auth.js";
export * from "./api-keys.js";
export * from "./workspaces.js";
export * from "./projects.js";
export * from "./runs.js";
export * from "./metrics.js";
export * from "./socket.js";
export * from "./swanlab.js";
export * from "./jobs.js";
export * from "./trainer-log.js";
export * from "./webhooks.js";
