// Charts are grouped by section: the part of the key before the first "/" (SwanLab's rule); keys
// without one go to "default", shown first. System keys (__swanlab__.*) form their own group.
export const SYSTEM_PREFIX = "__swanlab__";
export const isSystemKey = (key: string) => key.startsWith(SYSTEM_PREFIX);

export function sectionOf(key: string): string {
  if (isSystemKey(key)) return "system";
  const i = key.indexOf("/");
  return i > 0 ? key.slice(0, i) : "default";
}

export function groupBySection(keys: readonly string[]): Array<{ section: string; keys: string[] }> {
  const groups = new Map<string, string[]>();
  for (const k of [...keys].sort((a, b) => a.localeCompare(b))) {
    const s = sectionOf(k);
    const list = groups.get(s);
    if (list) list.push(k);
    else groups.set(s, [k]);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a === "default" ? -1 : b === "default" ? 1 : a.localeCompare(b)))
    .map(([section, ks]) => ({ section, keys: ks }));
}
