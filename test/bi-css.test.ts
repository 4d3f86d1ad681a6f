/**
 * public/css/bootstrap-italia.css (src/plugins/bi-css.ts): the committed file is what the kit's
 * stylesheet and today's sources give, so a template that starts using a class of the kit fails
 * here until `npm run css` is run; and it keeps what the pages need while dropping the rest.
 */
import fs from 'node:fs';
import t from 'tap';
import { BI_CSS_FILE, BI_CSS_SOURCE, BI_CSS_URL, bootstrapItaliaCss } from '../src/plugins/bi-css.js';

const committed = fs.readFileSync(BI_CSS_FILE, 'utf8');

t.test('the committed stylesheet is up to date with the templates, the code and the scripts', async (t) => {
  const fresh = await bootstrapItaliaCss();
  t.ok(fresh === committed, `${BI_CSS_FILE} is stale: run \`npm run css\` and commit it`);
});

t.test('what the pages use is kept, the components no page has are not', async (t) => {
  const kit = fs.readFileSync(BI_CSS_SOURCE, 'utf8');
  // classes written in the templates, set by a component's script, picked by a helper, built from pieces
  for (const selector of ['.btn-primary', '.it-header-wrapper', '.table-responsive', '.visually-hidden', '.navbar .navbar-collapsable.expanded', '.bg-success', '.alert-info', '.alert-danger', '.form-control.is-invalid']) {
    t.ok(kit.includes(selector), `${selector} is in the kit`);
    t.ok(committed.includes(selector), `${selector} is kept`);
  }
  for (const selector of ['.it-carousel-wrapper', '.accordion-body', '.it-timeline-wrapper', '.video-js', '.cookiebar', '.megamenu']) {
    t.ok(kit.includes(selector), `${selector} is in the kit`);
    t.notOk(committed.includes(selector), `${selector} (no page has it) is dropped`);
  }
  t.ok(committed.length < kit.length / 4, `${committed.length} bytes of the kit's ${kit.length}`);
  t.notOk(committed.includes('\uFEFF'), 'no byte-order mark inside the file');
});

t.test('the layout links it', async (t) => {
  const layout = fs.readFileSync(new URL('../templates/layouts/main.hbs', import.meta.url), 'utf8');
  t.match(layout, `<link rel="stylesheet" href="${BI_CSS_URL}">`);
  t.notMatch(layout, 'bootstrap-italia.min.css', 'not the whole kit');
});
