/**
 * CSV injection ("formula injection", OWASP): a spreadsheet that opens a CSV runs a cell starting
 * with `=`, `+`, `-` or `@` as a formula (`=HYPERLINK(…)`, `=cmd|' /C calc'!A0`), and a leading tab
 * or carriage return can hide such a start. Every CSV the platform writes passes each text cell
 * through {@link csvSafe}: a cell that starts with one of those characters (or their full-width
 * forms, which some spreadsheets fold to ASCII) gets a leading apostrophe, so it is shown as text.
 *
 * Plain numbers stay as they are: `-12,50`, `+3`, `-1.234,56` or `-12.5` cannot be a formula, and
 * a signed amount must stay a number in the spreadsheet. (Our exports write amounts without sign
 * today; the rule keeps a future credit note usable.) Quoting of separators, quotes and line breaks
 * is csv-stringify's job, not this function's.
 */

/** Characters that make a spreadsheet read a cell as a formula, or hide such a start. */
const FORMULA_START = /^[=+\-@\t\r\n\uFF1D\uFF0B\uFF0D\uFF20]/;

/** A number as our exports and Italian spreadsheets write it, with an optional sign. */
const PLAIN_NUMBER = /^[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:[.,]\d+)?$/;

/** The cell as text that no spreadsheet will evaluate (see the module comment). */
export function csvSafe(value: string): string {
  return FORMULA_START.test(value) && !PLAIN_NUMBER.test(value) ? `'${value}` : value;
}

/**
 * The `cast` option of csv-stringify that applies {@link csvSafe} to every string cell
 * (`stringify(rows, { cast: CSV_SAFE_CAST, … })`); numbers, booleans and dates are not formulas.
 */
export const CSV_SAFE_CAST = { string: (value: string): string => csvSafe(value) } as const;
