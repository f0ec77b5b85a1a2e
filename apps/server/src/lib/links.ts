// Dashboard addresses for messages sent out of the server (webhooks, mail): PUBLIC_URL, else localhost.
import type { Env } from "../env.js";

export const publicBase = (env: Pick<Env, "PUBLIC_URL" | "PORT">) => env.PUBLIC_URL?.replace(/\/+$/, "") ?? `http://localhost:${env.PORT}`;

const seg = encodeURIComponent;
export const projectLink = (base: string, workspace: string, project: string) => `${base}/${seg(workspace)}/${seg(project)}`;
export const runLink = (base: string, run: { workspace: string; project: string; id: string }) => `${projectLink(base, run.workspace, run.project)}/runs/${seg(run.id)}`;
