// Images logged by the official SwanLab SDK (its wire protocol, request by request: login, project,
// experiment, presigned upload, media record) appear in the run page's gallery with their captions.
import { expect, test } from "@playwright/test";
import { base, shot } from "./helpers.js";

// A 2×2 red PNG.
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGP4z8AARAwQCgAf7gP9i18U1AAAAABJRU5ErkJggg==", "base64");

test("images from the official SDK protocol show in the run page gallery", async ({ page, context }, info) => {
  const username = `g${Date.now().toString(36)}${info.project.name.slice(0, 2)}`;
  const reg = await fetch(`${base()}/api/v1/auth/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username, password: "a-long-password" }) });
  expect(reg.status).toBe(201);
  const cookie = reg.headers.get("set-cookie")!.split(";")[0]!;
  const { key } = (await (await fetch(`${base()}/api/v1/api-keys`, { method: "POST", headers: { "content-type": "application/json", cookie }, body: JSON.stringify({ name: "sdk" }) })).json()) as { key: string };

  // The SDK's calls, in its order (shared/swanlab-protocol.md §4).
  const login = await fetch(`${base()}/api/login/api_key`, { method: "POST", headers: { authorization: key } });
  expect(login.status).toBe(200);
  const sid = ((await login.json()) as { sid: string }).sid;
  const sdk = (method: string, path: string, body?: unknown) =>
    fetch(`${base()}/api${path}`, { method, headers: { cookie: `sid=${sid}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  expect((await sdk("POST", `/projects/${username}`, { name: "vision", visibility: "PRIVATE" })).status).toBeLessThan(300);
  const proj = (await (await sdk("GET", `/project/${username}/vision`)).json()) as { cuid: string };
  const cuid = `gal${Date.now().toString(36)}`;
  expect((await sdk("POST", `/project/${username}/vision/experiment`, { name: "vit", cuid, colors: ["#587ad2", "#587ad2"], createdAt: new Date().toISOString() })).status).toBe(201);
  const paths = ["media/image/001-aa11bb22.png", "media/image/002-cc33dd44.png"];
  const { urls } = (await (await sdk("POST", "/resources/presigned/put", { experimentId: cuid, paths })).json()) as { urls: string[] };
  for (const url of urls) expect((await fetch(url, { method: "PUT", headers: { "content-type": "image/png" }, body: PNG })).status).toBeLessThan(300);
  const media = await sdk("POST", "/house/metrics", {
    projectId: proj.cuid, experimentId: cuid, type: "media",
    metrics: [{ key: "samples", index: 1, data: paths, more: [{ caption: "cat" }, { caption: "dog" }], create_time: new Date().toISOString() }],
  });
  expect(media.status).toBeLessThan(300);

  // The gallery: both images load (decoded, not broken) with their captions.
  const [name, value] = cookie.split("=") as [string, string];
  await context.addCookies([{ name, value, url: base() }]);
  await page.goto(`${base()}/${username}/vision/runs/${cuid}`);
  const gallery = page.getByTestId("media-samples");
  await expect(gallery.getByTestId("media-item")).toHaveCount(2);
  await expect(gallery.locator(".caption")).toHaveText(["cat", "dog"]);
  await expect.poll(() => gallery.locator("img").evaluateAll((imgs) => imgs.map((i) => (i as HTMLImageElement).naturalWidth))).toEqual([2, 2]);
  await shot(page, "10-gallery", info.project.name);
});
