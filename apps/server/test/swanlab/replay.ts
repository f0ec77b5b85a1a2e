// Replays a JSON transcript of SwanLab SDK traffic against buildApp, request by request, and checks each
// answer. Transcripts are data (transcripts/*.json): a newer SDK version is added as a new file.
// Matchers inside `expect.json`: literal values (subset match for objects, exact length for arrays),
// "$string" "$int" "$number" "$any" "$absent" "$isoDate" "$expiredAt" "{{var}}", and the objects
// {"$len": n}, {"$contains": [..]}, {"$notContains": [..]}, {"$gt": n}.
import type { FastifyInstance } from "fastify";

export type Auth = "sdk" | "none" | "v1" | "dashboard";
export type Step = {
  name: string;
  request: {
    method: string;
    path?: string;
    url?: string;
    auth?: Auth;
    headers?: Record<string, string>;
    body?: unknown;
    raw?: string;
    rawBase64?: string;
    contentType?: string;
  };
  expect: { status: number; json?: unknown; text?: string; bodyBase64?: string; headers?: Record<string, string> };
  save?: Record<string, string>;
};
export type Transcript = { sdk: string; era: string; description: string; headers: Record<string, string>; flagHeader?: boolean; steps: Step[] };
export type Vars = Record<string, unknown>;

const VAR = /\{\{(\w+)\}\}/g;

export function substitute(v: unknown, vars: Vars): unknown {
  if (typeof v === "string") {
    const whole = /^\{\{(\w+)\}\}$/.exec(v);
    if (whole) return lookupVar(vars, whole[1]!);
    return v.replace(VAR, (_, name: string) => String(lookupVar(vars, name)));
  }
  if (Array.isArray(v)) return v.map((x) => substitute(x, vars));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x, vars)]));
  return v;
}
function lookupVar(vars: Vars, name: string): unknown {
  if (!(name in vars)) throw new Error(`transcript uses {{${name}}} before it was saved`);
  return vars[name];
}

export function pick(obj: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), obj);
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

/** Returns the list of mismatches (empty = match), each with its JSON path. */
export function match(actual: unknown, expected: unknown, vars: Vars, path = "$", now = Date.now()): string[] {
  const fail = (why: string) => [`${path}: ${why} (got ${JSON.stringify(actual)?.slice(0, 200)})`];
  if (typeof expected === "string") {
    if (expected === "$any") return actual === undefined ? fail("missing") : [];
    if (expected === "$string") return typeof actual === "string" && actual.length > 0 ? [] : fail("expected a non-empty string");
    if (expected === "$number") return typeof actual === "number" ? [] : fail("expected a number");
    if (expected === "$int") return Number.isInteger(actual) ? [] : fail("expected an integer");
    if (expected === "$isoDate") return typeof actual === "string" && ISO.test(actual) ? [] : fail("expected an ISO-8601 date");
    if (expected === "$expiredAt") {
      // The SDK parses %Y-%m-%dT%H:%M:%S.%fZ and logs in again when fewer than 7 days are left.
      if (typeof actual !== "string" || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3,6}Z$/.test(actual)) return fail("expected YYYY-MM-DDTHH:MM:SS.fffZ");
      return Date.parse(actual) - now > 8 * 86_400_000 ? [] : fail("expected more than 8 days of validity");
    }
    if (expected === "$absent") return [`${path}: should be absent`];
    return actual === substitute(expected, vars) ? [] : fail(`expected ${JSON.stringify(substitute(expected, vars))}`);
  }
  if (expected === null || typeof expected !== "object") return actual === expected ? [] : fail(`expected ${JSON.stringify(expected)}`);
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return fail("expected an array");
    if (actual.length !== expected.length) return fail(`expected ${expected.length} items`);
    return expected.flatMap((e, i) => match(actual[i], e, vars, `${path}[${i}]`, now));
  }
  const e = expected as Record<string, unknown>;
  if ("$len" in e) return Array.isArray(actual) && actual.length === e.$len ? [] : fail(`expected length ${String(e.$len)}`);
  if ("$gt" in e) return typeof actual === "number" && actual > (e.$gt as number) ? [] : fail(`expected > ${String(e.$gt)}`);
  if ("$contains" in e || "$notContains" in e) {
    if (!Array.isArray(actual)) return fail("expected an array");
    const out: string[] = [];
    for (const want of (e.$contains as unknown[] | undefined) ?? []) {
      if (!actual.some((a) => match(a, want, vars, path, now).length === 0)) out.push(`${path}: no item matches ${JSON.stringify(want)}`);
    }
    for (const bad of (e.$notContains as unknown[] | undefined) ?? []) {
      if (actual.some((a) => match(a, bad, vars, path, now).length === 0)) out.push(`${path}: an item matches ${JSON.stringify(bad)}`);
    }
    return out;
  }
  if (!actual || typeof actual !== "object" || Array.isArray(actual)) return fail("expected an object");
  return Object.entries(e).flatMap(([k, want]) => {
    const got = (actual as Record<string, unknown>)[k];
    if (want === "$absent") return k in (actual as object) ? [`${path}.${k}: should be absent (got ${JSON.stringify(got)})`] : [];
    return match(got, want, vars, `${path}.${k}`, now);
  });
}

/** Runs every step; throws on the first mismatch with the step's name and what differed. */
export async function replay(app: FastifyInstance, t: Transcript, vars: Vars): Promise<void> {
  for (const [i, step] of t.steps.entries()) {
    const req = step.request;
    const auth = req.auth ?? "sdk";
    const headers: Record<string, string> = {};
    if (auth === "sdk" || auth === "none") Object.assign(headers, t.headers);
    if (auth === "sdk") {
      headers.cookie = `sid=${String(lookupVar(vars, "sid"))}`;
      if (t.flagHeader && vars.flagId) headers.flagid = String(vars.flagId);
    }
    if (auth === "v1") headers.authorization = `Bearer ${String(lookupVar(vars, "apiKey"))}`;
    if (auth === "dashboard") headers.cookie = String(lookupVar(vars, "dashboardCookie"));
    Object.assign(headers, substitute(req.headers ?? {}, vars) as Record<string, string>);

    let url = String(substitute(req.url ?? req.path, vars));
    if (/^https?:\/\//.test(url)) url = url.replace(/^https?:\/\/[^/]+/, "");
    let payload: string | Buffer | undefined;
    if (req.raw !== undefined) payload = String(substitute(req.raw, vars));
    else if (req.rawBase64 !== undefined) payload = Buffer.from(req.rawBase64, "base64");
    else if (req.body !== undefined) {
      payload = JSON.stringify(substitute(req.body, vars));
      headers["content-type"] = "application/json";
    }
    if (req.contentType) headers["content-type"] = req.contentType;

    const res = await app.inject({ method: req.method as "GET", url, headers, ...(payload !== undefined ? { payload } : {}) });
    const where = `${t.sdk} step ${i + 1} "${step.name}" (${req.method} ${url})`;
    const problems: string[] = [];
    if (res.statusCode !== step.expect.status) problems.push(`status ${res.statusCode}, expected ${step.expect.status}; body ${res.body.slice(0, 300)}`);
    let json: unknown;
    if (step.expect.json !== undefined || step.save) {
      try {
        json = res.json();
      } catch {
        problems.push(`body is not JSON: ${res.body.slice(0, 200)}`);
      }
    }
    if (step.expect.json !== undefined && json !== undefined) problems.push(...match(json, step.expect.json, vars));
    if (step.expect.text !== undefined && res.body !== substitute(step.expect.text, vars)) problems.push(`body ${JSON.stringify(res.body.slice(0, 200))}, expected ${JSON.stringify(step.expect.text)}`);
    if (step.expect.bodyBase64 !== undefined && res.rawPayload.toString("base64") !== step.expect.bodyBase64) problems.push("body bytes differ from the expected base64");
    for (const [h, want] of Object.entries(step.expect.headers ?? {})) {
      if (!String(res.headers[h] ?? "").startsWith(want)) problems.push(`header ${h}: ${String(res.headers[h])}, expected ${want}…`);
    }
    if (problems.length) throw new Error(`${where}:\n  ${problems.join("\n  ")}`);
    for (const [name, path] of Object.entries(step.save ?? {})) {
      const v = pick(json, path);
      if (v === undefined) throw new Error(`${where}: nothing at '${path}' to save as {{${name}}}`);
      vars[name] = v;
    }
  }
}
