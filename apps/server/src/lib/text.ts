// PostgreSQL text and jsonb cannot hold U+0000: a stray NUL would fail a whole batch (and clients
// re-send failed batches forever), so every write path strips it.
export const noNul = (s: string) => s.replace(/\u0000/g, "");

/** noNul for JSON values, keys included. */
export function stripNul<T>(v: T): T {
  if (typeof v === "string") return noNul(v) as T;
  if (Array.isArray(v)) return v.map(stripNul) as T;
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [noNul(k), stripNul(x)])) as T;
  return v;
}
