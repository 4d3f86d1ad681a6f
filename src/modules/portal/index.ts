/**
 * The citizens' portal (home, comune pages, pay a notice, cart, spontaneous payments, personal
 * area): see routes.ts. Registered once in app.ts, after the SPID module (whose `app.spid` its
 * login pages use when present); encapsulated (it decorates nothing outside).
 */
export { default } from './routes.js';
