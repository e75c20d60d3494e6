import type { CodeOptions } from "ajv";
import { RE2JS } from "re2js";

/** What Ajv's `code.regExp` option takes: `(pattern, flags) => { test(input) }`, with a `code` name. */
type RegExpEngine = NonNullable<CodeOptions["regExp"]>;

/**
 * A `pattern` (or `patternProperties` key) that is a valid JavaScript regular expression but uses syntax the
 * linear-time engine cannot run: lookahead, lookbehind, backreferences, some `\p{...}` classes. The validators treat
 * the schema as one that does not compile.
 */
export class UnsupportedPatternError extends Error {
  /** The pattern as the schema gives it. */
  readonly pattern: string;

  constructor(pattern: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`pattern "${pattern}" needs a backtracking regular-expression engine (lookaround, backreference, ...), which could run for seconds on one argument: ${reason}`, {
      cause,
    });
    this.name = "UnsupportedPatternError";
    this.pattern = pattern;
  }
}

/**
 * Ajv's regular-expression engine for patterns from servers: RE2 (re2js), which matches in time linear in the input,
 * so that no pattern can make a check backtrack for seconds (`^(a+)+$` against `aaaa...!`). A pattern JavaScript
 * rejects throws its `SyntaxError`, as with Ajv's default engine; one only a backtracking engine can run throws an
 * {@link UnsupportedPatternError}. Matching is unanchored (`test`), as JSON Schema's `pattern` is.
 */
export const linearRegExp: RegExpEngine = Object.assign(
  (pattern: string, flags: string) => {
    // Compiling is safe (only matching backtracks): it sorts "not a regular expression" from "not one RE2 runs".
    new RegExp(pattern, flags);
    let compiled: RE2JS;
    try {
      // RE2 is Unicode-aware without flags; translateRegExp rewrites JavaScript-only spellings (`\u0041`, `(?<name>`).
      compiled = RE2JS.compile(RE2JS.translateRegExp(pattern));
    } catch (error) {
      throw new UnsupportedPatternError(pattern, error);
    }
    // Ajv keys its compiled patterns by `toString()`: it must differ per pattern, as a RegExp's does.
    const source = `/${pattern}/${flags}`;
    return { test: (input: string) => compiled.test(input), toString: () => source };
  },
  // The name Ajv would print in standalone validation code, which the store never generates.
  { code: "linearRegExp" },
);
