// CSV for the exports (a run's scalars, a project's runs table), as spreadsheets read it: RFC 4180
// quoting, and text that a spreadsheet would run as a formula (=, +, -, @ first, and not a number)
// prefixed with ' (OWASP's advice against CSV injection: run names, tags and keys are user input).

const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(value: string): string {
  const s = FORMULA_START.test(value) && !Number.isFinite(Number(value)) ? `'${value}` : value;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const csvLine = (cells: readonly string[]) => cells.map(csvCell).join(",");

/** Nested objects as dotted keys ({a: {b: 1}} → "a.b"); arrays and scalars are leaves. */
export function flattenJson(obj: Record<string, unknown>, prefix = "", out = new Map<string, unknown>()): Map<string, unknown> {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) flattenJson(v as Record<string, unknown>, key, out);
    else out.set(key, v);
  }
  return out;
}

/** A JSON leaf as a cell: strings as they are, everything else as JSON. */
export const jsonCell = (v: unknown) => (v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v));
