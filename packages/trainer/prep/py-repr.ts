// Python's repr() of a str and of a list of str, as `str(["Sports", "Politics"])` prints it:
// single quotes unless the text holds ' and no ", backslash escapes, \xhh/\uhhhh/\Uhhhhhhhh for
// characters that str.isprintable() rejects (Unicode categories C* and Z* except the ASCII space).

const NON_PRINTABLE = /[\p{C}\p{Z}]/u;

export function pyReprStr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch !== " " && NON_PRINTABLE.test(ch)) out += escapeCodePoint(ch.codePointAt(0) ?? 0);
    else out += ch;
  }
  return out + quote;
}

export function pyReprList(items: readonly string[]): string {
  return "[" + items.map(pyReprStr).join(", ") + "]";
}

function escapeCodePoint(cp: number): string {
  if (cp < 0x100) return "\\x" + cp.toString(16).padStart(2, "0");
  if (cp < 0x10000) return "\\u" + cp.toString(16).padStart(4, "0");
  return "\\U" + cp.toString(16).padStart(8, "0");
}
