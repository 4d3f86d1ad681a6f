/**
 * Handlebars views through @fastify/view: `templates/layouts/main.hbs` wraps every page,
 * every file under `templates/partials/` is a partial named by its path. `{{ }}` escapes every
 * value; templates never use triple braces except for `body` in the layout.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import fastifyView from '@fastify/view';
import Handlebars from 'handlebars';
import { formatEuro } from '../domain/money.js';
import { pageModules } from './page-modules.js';

export const TEMPLATES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../templates');

const DATE_IT = new Intl.DateTimeFormat('it-IT', { day: '2-digit', month: '2-digit', year: 'numeric', timeZone: 'Europe/Rome' });
const PERCENT_IT = new Intl.NumberFormat('it-IT', { maximumFractionDigits: 1 });
const DATETIME_IT = new Intl.DateTimeFormat('it-IT', {
  day: '2-digit',
  month: '2-digit',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  timeZone: 'Europe/Rome',
});

function listPartials(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fs.existsSync(dir)) return out;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) Object.assign(out, listPartials(full, `${prefix}${entry.name}/`));
    else if (entry.name.endsWith('.hbs')) out[`${prefix}${entry.name.slice(0, -4)}`] = path.relative(TEMPLATES_DIR, full);
  }
  return out;
}

export function createHandlebars(): typeof Handlebars {
  const hbs = Handlebars.create();
  hbs.registerHelper('euro', (cents: unknown) => (typeof cents === 'number' ? formatEuro(cents) : ''));
  hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  hbs.registerHelper('toString', (v: unknown) => (v === null || v === undefined ? '' : String(v)));
  hbs.registerHelper('or', (...args: unknown[]) => args.slice(0, -1).some(Boolean));
  hbs.registerHelper('date', (iso: unknown) => (typeof iso === 'string' && iso ? DATE_IT.format(new Date(iso)) : ''));
  hbs.registerHelper('datetime', (iso: unknown) => (typeof iso === 'string' && iso ? DATETIME_IT.format(new Date(iso)) : ''));
  /** A percentage the Italian way, "11,1 %" (decimal comma, non-breaking space before the sign). */
  hbs.registerHelper('percent', (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? `${PERCENT_IT.format(value)}\u00a0%` : ''));
  /** Looks up a field's message in an errors map: {{fieldError errors "name"}}. */
  hbs.registerHelper('fieldError', (errors: unknown, name: unknown) =>
    errors && typeof errors === 'object' && typeof name === 'string' ? (errors as Record<string, string>)[name] ?? '' : '',
  );
  return hbs;
}

/**
 * Reuse of a rendered page (see PageOptions.reuse): the page is rendered once with markers where
 * the per-response values go (the CSRF token, the script nonce), split at the markers, and every
 * response joins the pieces with fresh values. The markers are random for the process and never
 * leave it; they are letters and digits, which Handlebars escaping leaves as they are.
 */
const MARK = crypto.randomBytes(12).toString('hex');
const CSRF_MARK = `csrf${MARK}`;
const NONCE_MARK = `nonce${MARK}`;
const MARKS = new RegExp(`(${CSRF_MARK}|${NONCE_MARK})`);
/** Rendered pages kept per owner object: at most this many variants (cart count, path, …) each. */
const MAX_VARIANTS = 16;
/** A reused page: its UTF-8 bytes between the markers (even indexes) and the markers (odd). */
type ReusedPage = (Buffer | string)[];
const reusable = new WeakMap<object, Map<string, ReusedPage>>();

/**
 * A page's data, or (for a reused page) a function that builds them when the page is rendered
 * (such data cannot ask for `csrf: true`: a signed-in user's pages have the token anyway).
 */
export type PageData = Record<string, unknown> | (() => Record<string, unknown>);
const dataOf = (data: PageData): Record<string, unknown> => (typeof data === 'function' ? data() : data);

export interface PageOptions {
  /**
   * The page's `data` are fully determined by `owner` (an object that is replaced when its data
   * change, like the personal area's cached sections) and `key`: the rendered page is kept with
   * the owner (as long as it lives) and reused, with this response's user header, CSRF token and
   * script nonce. Nothing of the request may enter `data` except through `key`.
   */
  reuse?: { owner: object; key: string };
}

export default fp(
  async function viewsPlugin(app: FastifyInstance) {
    const handlebars = createHandlebars();
    // `{{> page-modules}}` in the layout: the pages' JavaScript modules, preloaded (page-modules.ts).
    const preloads = (await pageModules()).map((url) => `<link rel="modulepreload" href="${Handlebars.escapeExpression(url)}">`);
    handlebars.registerPartial('page-modules', preloads.join('\n  '));
    await app.register(fastifyView, {
      engine: { handlebars },
      root: TEMPLATES_DIR,
      layout: 'layouts/main.hbs',
      viewExt: 'hbs',
      // Compiled templates are cached in every mode (restart to see template edits): recompiling
      // every page and partial on each request made a page cost ~4× more.
      production: true,
      // preventIndent: a partial called on an indented line (`  {{> header}}` in the layout) is
      // otherwise re-indented on every render, its output split into lines and joined again (the
      // header: ~3% of a signed-in page's CPU). Only the HTML's whitespace differs.
      options: { partials: listPartials(path.join(TEMPLATES_DIR, 'partials')), compileOptions: { preventIndent: true } },
    });

    const pageContext = (reply: FastifyReply, data: Record<string, unknown>, marked: boolean) => {
      const request = reply.request;
      const user = request.user;
      const withCsrf = (Boolean(user) || data.csrf === true) && Boolean(request.session);
      return {
        ...data,
        provinceName: app.config.provinceName,
        demo: !app.config.isProduction,
        user: user
          ? {
              displayName: [user.name, user.familyName].filter(Boolean).join(' ') || user.fiscalCode,
              fiscalCode: user.fiscalCode,
              isAdmin: user.grants.some((g) => g.role === 'sael_admin'),
              isHelpdesk: user.grants.some((g) => g.role === 'helpdesk'),
              isOperator: user.grants.some((g) => g.role === 'operator' || g.role === 'ente_admin'),
              isRedazione: user.grants.some((g) => g.role === 'redazione'),
            }
          : null,
        csrfToken: withCsrf ? (marked ? CSRF_MARK : reply.generateCsrf()) : undefined,
        scriptNonce: marked ? NONCE_MARK : reply.scriptNonce,
        currentPath: request.url.split('?', 1)[0],
      };
    };

    /**
     * The pieces of a reused page joined with this response's CSRF token (one) and nonce, as bytes:
     * a copy of the encoded pieces instead of encoding the whole page's text again to UTF-8.
     */
    const fill = (reply: FastifyReply, parts: ReusedPage): Buffer => {
      let csrf: Buffer | undefined;
      const chunks = new Array<Buffer>(parts.length);
      for (let i = 0; i < parts.length; i++) {
        const part = parts[i]!;
        if (typeof part !== 'string') chunks[i] = part;
        else if (part === CSRF_MARK) chunks[i] = csrf ??= Buffer.from(Handlebars.escapeExpression(reply.generateCsrf()));
        else chunks[i] = Buffer.from(Handlebars.escapeExpression(reply.scriptNonce));
      }
      return Buffer.concat(chunks);
    };

    app.decorateReply('page', function page(this: FastifyReply, template: string, pageData: PageData = {}, opts: PageOptions = {}) {
      this.type('text/html; charset=utf-8');
      if (!opts.reuse) return this.view(`${template}.hbs`, pageContext(this, dataOf(pageData), false)) as unknown as FastifyReply;
      // Everything of the request that the layout shows is part of the key; the page's own data
      // (a function, when given one) are only built when the page is rendered.
      const context = pageContext(this, typeof pageData === 'function' ? {} : pageData, true);
      const u = context.user;
      const key = [template, opts.reuse.key, context.currentPath, context.csrfToken !== undefined, u ? `${u.displayName}\u0001${u.fiscalCode}\u0001${u.isAdmin}${u.isHelpdesk}${u.isOperator}` : ''].join('\u0000');
      let pages = reusable.get(opts.reuse.owner);
      if (!pages) reusable.set(opts.reuse.owner, (pages = new Map()));
      const parts = pages.get(key);
      if (parts) return this.send(fill(this, parts));
      const variants = pages;
      const full = { ...dataOf(pageData), ...context };
      return (this as unknown as { viewAsync(page: string, data: object): Promise<string> }).viewAsync(`${template}.hbs`, full).then((html) => {
        const rendered = html.split(MARKS).map((part, i) => (i % 2 === 1 ? part : Buffer.from(part)));
        if (variants.size >= MAX_VARIANTS) variants.clear();
        variants.set(key, rendered);
        return this.send(fill(this, rendered));
      }) as unknown as FastifyReply;
    });
  },
  { name: 'views', dependencies: ['sessions', 'csrf'] },
);
