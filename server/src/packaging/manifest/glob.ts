/**
 * Model file globs with Go `filepath.Match` semantics (on `/`-separated paths): the whole path must match; `*` is any
 * run of characters except `/`; `?` is one character except `/`; `[...]` / `[^...]` is a class of characters and
 * `lo-hi` ranges (a class may match `/`); `\` quotes the next character. A malformed pattern (unclosed class, empty
 * class, dangling `\`, `-` or `]` where a class item belongs) is an error, as Go's ErrBadPattern.
 */
export class BadGlobError extends Error {}

// Characters a `u`-flag RegExp needs quoted (`-` must not be: `\-` is a syntax error outside a class there).
const SPECIAL = /[\\^$.*+?()[\]{}|/]/;

function literal(ch: string): string {
  return SPECIAL.test(ch) ? `\\${ch}` : ch;
}

function codePoint(ch: string): string {
  return `\\u{${ch.codePointAt(0)!.toString(16)}}`;
}

/** compileGlob turns a pattern into an anchored RegExp, or throws BadGlobError saying what is malformed. */
export function compileGlob(pattern: string): RegExp {
  const chars = [...pattern];
  let source = "";
  let i = 0;
  // A class item: one character, or `\x`. Go refuses `-` and `]` in this position, and a pattern that ends here.
  const item = (): string => {
    let ch = chars[i];
    if (ch === undefined || ch === "-" || ch === "]") {
      throw new BadGlobError(`character class is malformed at position ${i + 1}`);
    }
    if (ch === "\\") {
      i++;
      ch = chars[i];
      if (ch === undefined) throw new BadGlobError("pattern ends with an unfinished escape");
    }
    i++;
    if (i >= chars.length) throw new BadGlobError("character class is not closed with ]");
    return ch;
  };
  while (i < chars.length) {
    const ch = chars[i]!;
    if (ch === "*") {
      source += "[^/]*";
      i++;
    } else if (ch === "?") {
      source += "[^/]";
      i++;
    } else if (ch === "\\") {
      const next = chars[i + 1];
      if (next === undefined) throw new BadGlobError("pattern ends with an unfinished escape");
      source += literal(next);
      i += 2;
    } else if (ch === "[") {
      i++;
      const negated = chars[i] === "^";
      if (negated) i++;
      const ranges: string[] = [];
      let count = 0;
      for (;;) {
        if (chars[i] === "]" && count > 0) {
          i++;
          break;
        }
        const lo = item();
        let hi = lo;
        if (chars[i] === "-") {
          i++;
          hi = item();
        }
        // Go never errors on a reversed range; it just never matches. JS would refuse it, so leave it out.
        if (lo.codePointAt(0)! <= hi.codePointAt(0)!) ranges.push(`${codePoint(lo)}-${codePoint(hi)}`);
        count++;
      }
      if (ranges.length === 0) source += negated ? "[^]" : "(?!)";
      else source += `[${negated ? "^" : ""}${ranges.join("")}]`;
    } else {
      source += literal(ch);
      i++;
    }
  }
  try {
    return new RegExp(`^${source}$`, "u");
  } catch (err) {
    throw new BadGlobError(err instanceof Error ? err.message : String(err));
  }
}
