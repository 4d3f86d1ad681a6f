/**
 * Pre-rendered pieces of the personal area. The lists of positions are most of the page (tens of
 * KB for a citizen with hundreds of positions) and depend only on the citizen's data, which
 * citizen-cache.ts keeps while it does not change: so the lists are rendered once per cached data
 * object and inserted into the page with {{{ }}}. They are rendered by the same Handlebars
 * (escaping every value with {{ }}) and contain no per-request value (CSRF token, nonce, user).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TemplateDelegate } from 'handlebars';
import { createHandlebars, TEMPLATES_DIR } from '../../plugins/views.js';
import type { GroupedPositions } from './citizen.js';

const hbs = createHandlebars();
const compiled = new Map<string, TemplateDelegate>();

function template(name: string): TemplateDelegate {
  let t = compiled.get(name);
  if (!t) compiled.set(name, (t = hbs.compile(fs.readFileSync(path.join(TEMPLATES_DIR, `${name}.hbs`), 'utf8'), { strict: false })));
  return t;
}

export interface PersonalAreaFragments {
  toPayCards: string;
  otherSections: string;
}

const rendered = new WeakMap<GroupedPositions, PersonalAreaFragments>();

export function personalAreaFragments(g: GroupedPositions): PersonalAreaFragments {
  let f = rendered.get(g);
  if (!f) {
    f = {
      toPayCards: template('portal/personal-area-cards')(g),
      otherSections: template('portal/personal-area-others')({
        ...g,
        morePaid: g.paidCount > g.paid.length,
        moreExpired: g.expiredCount - g.expired.length,
        moreCancelled: g.cancelledCount - g.cancelled.length,
      }),
    };
    rendered.set(g, f);
  }
  return f;
}
