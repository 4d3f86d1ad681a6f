/**
 * Request schemas of the e-mails' unsubscribe links (event alerts, payment notifications): the
 * secret token in the query, and the body of the POST that unsubscribes — the page's button, or a
 * mail client's one-click POST (RFC 8058: `List-Unsubscribe=One-Click`, no session, no CSRF token).
 */
export const unsubscribeTokenQuery = {
  type: 'object',
  properties: { token: { type: 'string', pattern: '^[A-Za-z0-9_-]{20,64}$' } },
  required: ['token'],
  additionalProperties: false,
} as const;

export const oneClickUnsubscribeBody = {
  type: 'object',
  properties: { 'List-Unsubscribe': { type: 'string', maxLength: 40 }, _csrf: { type: 'string', maxLength: 200 } },
  additionalProperties: false,
} as const;
