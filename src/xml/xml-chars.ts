/**
 * Text an XML 1.0 document can carry. Some characters cannot be written at all, escaped or not
 * (the C0 controls other than tab, line feed and carriage return, U+FFFE and U+FFFF), and a UTF-16
 * surrogate without its pair cannot be written as UTF-8. Pure.
 */
// eslint-disable-next-line no-control-regex
const NON_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when every character of `value` can appear in an XML 1.0 document. */
export function isXmlText(value: string): boolean {
  return !NON_XML.test(value) && !LONE_SURROGATE.test(value);
}
