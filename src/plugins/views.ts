/**
 * Handlebars views through @fastify/view: `templates/layouts/main.hbs` wraps every page,
 * every file under `templates/partials/` is a partial named by its path. `{{ }}` escapes every
 * value; templates never use triple braces except for `body` in the layout.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import fastifyView from '@fastify/view';
import Handlebars from 'handlebars';
import { formatEuro } from '../domain/money.js';

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

export default fp(
  async function viewsPlugin(app: FastifyInstance) {
    await app.register(fastifyView, {
      engine: { handlebars: createHandlebars() },
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

    app.decorateReply('page', function page(this: FastifyReply, template: string, data: Record<string, unknown> = {}) {
      const request = this.request;
      const user = request.user;
      const needsCsrf = Boolean(user) || data.csrf === true;
      const context = {
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
            }
          : null,
        csrfToken: needsCsrf && request.session ? this.generateCsrf() : undefined,
        scriptNonce: this.scriptNonce,
        currentPath: request.url.split('?', 1)[0],
      };
      this.type('text/html; charset=utf-8');
      return this.view(`${template}.hbs`, context) as unknown as FastifyReply;
    });
  },
  { name: 'views', dependencies: ['sessions', 'csrf'] },
);
