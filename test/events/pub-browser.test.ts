/**
 * Public event pages in headless Chromium at 1280 and 390 px (#17 part B): /eventi (with and
 * without filters), an event with its picture, Il mio Comune, I miei eventi. axe WCAG 2.1 A/AA
 * zero violations, the layout checks, no third-party request, screenshots under
 * test-output/e2e/events-pub-*.png. The flow without JavaScript-only steps: filter the list with
 * the form, open an event, save it, choose Il mio Comune.
 */
import t from 'tap';
import { chromiumAvailable, e2eSession, PAGE_WIDTHS } from '../e2e/browser.js';
import { layoutProblems } from '../e2e/layout-check.js';
import { listen } from '../../bench/lib.js';
import { addEvent, eventsApp } from './pub-fixtures.js';

t.setTimeout(480_000);

t.test('public event pages in Chromium', { skip: chromiumAvailable() ? false : 'chromium not installed', timeout: 480_000 }, async (t) => {
  const { app } = await eventsApp(t, '2027-03-24T10:00:00.000Z');
  const sagra = await addEvent(app, {
    comune: 'Campobasso',
    category: 'sagre-enogastronomia',
    title: 'Sagra del tartufo bianco del Matese',
    summary: 'Tre serate di degustazioni, musica popolare e mercatino dei produttori locali nel centro storico.',
    day: '2027-03-27',
    time: '19:00',
    endTime: '23:30',
    latitude: 41.5603,
    longitude: 14.6627,
    placeName: 'Villa de Capoa',
    free: false,
    priceCents: 800,
    imageAlt: 'Colline del Matese al tramonto',
    links: [{ label: 'Programma completo', url: 'https://example.invalid/programma' }],
  });
  await addEvent(app, { comune: 'Termoli', category: 'mostre', title: 'Mostra fotografica “Il mare d’inverno”', day: '2027-03-20', endDay: '2027-04-10', allDay: true, imageAlt: 'Il porto di Termoli' });
  await addEvent(app, { comune: 'Campobasso', category: 'sport', title: 'Partita di pallavolo', day: '2027-03-24', time: '20:00', endTime: '22:00' });
  await addEvent(app, { comune: 'Bojano', category: 'spettacoli-concerti', title: 'Concerti del giovedì', day: '2027-03-25', time: '18:00', endTime: '19:30', weeklyUntil: '2027-04-15' });
  await addEvent(app, { comune: 'Campobasso', category: 'cultura-tradizioni', title: 'Rievocazione storica dei Misteri', day: '2027-03-28', time: '16:00', status: 'cancelled', cancelReason: 'Allerta meteo per vento forte' });
  const base = await listen(app);
  const s = await e2eSession(base);
  t.teardown(() => s.browser.close());

  for (const width of PAGE_WIDTHS) {
    const { ctx, page } = await s.context(width);
    const visit = async (name: string, path: string) => {
      const res = await page.goto(`${base}${path}`);
      t.equal(res?.status(), 200, `${path} answers 200`);
      t.same(await layoutProblems(page), [], `layout at ${width}: ${name}`);
      await s.check(page, `events-pub-${name}-${width}`);
    };
    await visit('list', '/eventi');
    await visit('list-filtered', '/eventi?categoria=sagre-enogastronomia&periodo=fine-settimana');
    await visit('event', `/eventi/${sagra.id}`);
    const img = page.locator('[data-testid="event-picture"]');
    t.ok(await img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0), `the picture loads at ${width}`);
    t.match((await img.getAttribute('srcset')) ?? '', /480\.webp 480w, .*960\.webp 960w, .*1600\.webp 1600w/);
    // Save it (a plain form), then see it in I miei eventi.
    await page.getByTestId('save-event').click();
    await page.waitForURL(`${base}/eventi/${sagra.id}`);
    t.equal(await page.getByTestId('saved-note').count(), 1, 'saved');
    await visit('miei-eventi', '/i-miei-eventi');
    t.equal(await page.locator('[data-testid="saved-events"] [data-testid="event-card"]').count(), 1);
    // Il mio Comune: choose Campobasso with the form.
    await visit('mio-comune-scelta', '/il-mio-comune');
    await page.selectOption('#f-comune', { label: 'Campobasso' });
    await page.getByTestId('choose-comune').click();
    await page.waitForURL(`${base}/il-mio-comune`);
    t.equal(await page.getByTestId('mio-comune').count(), 1);
    await visit('mio-comune', '/il-mio-comune');
    await ctx.close();
  }
  // The filter form works without JavaScript: a plain GET submission.
  const { ctx, page } = await s.context(1280);
  await ctx.route('**/*.js', (route) => route.abort());
  await page.goto(`${base}/eventi`);
  await page.selectOption('#f-categoria', 'mostre');
  await page.getByRole('button', { name: 'Cerca' }).click();
  await page.waitForURL(/categoria=mostre/);
  t.equal(await page.locator('[data-testid="event-card"]').count(), 1);
  await ctx.close();
  for (const [p, violations] of Object.entries(s.axeResults)) t.same(violations, [], `axe WCAG 2.1 A/AA: ${p}`);
  t.same(s.thirdParty, [], 'no third-party requests');
});
