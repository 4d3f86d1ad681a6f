/**
 * E2E in headless Chromium of issue #17's events path: an operator of Campobasso publishes an
 * event with a picture from the back office form (the upload goes through the real multipart
 * route, sharp makes the WebP variants); a citizen on a phone-sized browser, without logging in,
 * picks Campobasso in "Il mio Comune", finds the event there, opens it, saves it in "I miei eventi",
 * downloads its .ics (parsed back with node-ical: title, start, place) and the service worker
 * registers and controls the page. axe-core (WCAG 2.1 A/AA) finds zero violations on every page
 * of the path at 1280 and 390 px, including the home with the featured event and the news, the
 * news pages and the SAEL admin's zones; no request leaves the portal.
 */
import fs from 'node:fs';
import t from 'tap';
import { sqlGet } from '../../src/db/raw.js';
import ical from 'node-ical';
import sharp from 'sharp';
import { eq } from 'drizzle-orm';
import type { Page } from 'playwright-core';
import { chromiumAvailable, e2eSession } from './browser.js';
import { e2eApp } from './setup.js';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import { events } from '../../src/modules/events/schema.js';
import { createNews } from '../../src/modules/events/news-repository.js';
import { setEventFeatured } from '../../src/modules/events/repository.js';
import { seedDemoZones } from '../../src/modules/events/zones.js';
import { romeDay } from '../../src/modules/conservazione/dates.js';
import { addDays } from '../../src/domain/iso-date.js';
import { comune } from '../portal/fixtures.js';

t.setTimeout(6 * 60_000);

/** A 1200×675 JPEG drawn from an SVG (no binary fixture in git). */
async function pictureJpeg(): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="675"><rect width="1200" height="675" fill="#e0a030"/><circle cx="900" cy="180" r="90" fill="#fff"/><path d="M0 450 Q 600 300 1200 480 L1200 675 L0 675 Z" fill="#8a4b08"/></svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toBuffer();
}

t.test('an operator publishes an event with a picture; a citizen finds it in Il mio Comune, saves it, adds it to the calendar', { skip: chromiumAvailable() ? false : 'chromium not installed' }, async (t) => {
  const { app, base } = await e2eApp(t);
  const campobasso = await comune(app, 'Campobasso');
  const users = demoUserFiscalCodes();
  const operator = users.find((u) => u.role === 'operator' && u.enteIstat === '070006')!.fiscalCode;
  const admin = users.find((u) => u.role === 'sael_admin')!.fiscalCode;
  await seedDemoZones(app.db);
  const province = (await sqlGet(app.db, "SELECT id FROM enti WHERE kind = 'provincia'")) as { id: number };
  const news = await createNews(
    app.db,
    campobasso.id,
    { title: 'Raccolta differenziata: il nuovo calendario', summary: 'Dal prossimo mese cambia il giorno della plastica.', body: 'Il calendario è all’ufficio ambiente.' },
    { userId: null, actor: 'test' },
    { now: new Date(), publish: true },
  );
  await createNews(app.db, province.id, { title: 'Eventi e notizie dei comuni', summary: 'Il portale pubblica eventi e notizie.', body: '' }, { userId: null, actor: 'test' }, { now: new Date(), publish: true });

  const s = await e2eSession(base);
  t.teardown(() => s.browser.close());
  const title = 'Sagra del caciocavallo impiccato';
  const day = addDays(romeDay(new Date()), 3);

  // 1. The operator publishes the event from the back office form, with a picture.
  const op = await s.context(1280);
  await s.spidLogin(op.page, operator, `/backoffice/enti/${campobasso.id}/eventi/nuovo`);
  await s.check(op.page, 'flow-events-bo-new-1280');
  await op.page.getByLabel('Titolo').fill(title);
  await op.page.getByLabel('Presentazione breve').fill('Caciocavallo alla brace e musica popolare in piazza.');
  await op.page.getByLabel('Categoria').selectOption({ label: 'Sagre ed enogastronomia' });
  await op.page.getByLabel('Giorno di inizio').fill(day);
  await op.page.getByLabel('Ora di inizio').fill('18:00');
  await op.page.getByLabel('Ora di fine').fill('23:00');
  await op.page.locator('#f-placeName').fill('Piazza Municipio');
  await op.page.locator('#f-address').fill('Piazza Municipio 1, 86100 Campobasso');
  await op.page.getByLabel('Latitudine').fill('41,5603');
  await op.page.getByLabel('Longitudine').fill('14,6627');
  await op.page.locator('#f-image').setInputFiles({ name: 'sagra.jpg', mimeType: 'image/jpeg', buffer: await pictureJpeg() });
  await op.page.locator('#f-imageAlt').fill('Caciocavalli appesi sopra la brace');
  await op.page.getByRole('button', { name: 'Salva e pubblica' }).click();
  await op.page.waitForURL(new RegExp(`/backoffice/enti/${campobasso.id}/eventi/\\d+$`));
  await s.check(op.page, 'flow-events-bo-detail-1280');
  const eventId = Number(/\/eventi\/(\d+)$/.exec(op.page.url())![1]);
  const row = (await app.db.select().from(events).where(eq(events.id, eventId)).limit(1))[0]!;
  t.equal(row.status, 'published', 'published');
  t.equal(row.imageWidth, 1200, 'picture stored');
  t.ok(fs.existsSync(`${app.config.events.imagesDir}/${row.imageKey}/960.webp`), 'WebP variant on disk');
  // The SAEL features it on the province's home.
  await setEventFeatured(app.events, eventId, true, { actor: 'test', userId: null });

  // 2. A citizen on a phone, not signed in: Il mio Comune → Campobasso.
  const phone = await s.context(390);
  const p = phone.page;
  await p.goto(`${base}/`);
  await s.check(p, 'flow-events-home-390');
  t.match(await p.locator('[data-testid="home-featured-events"]').innerText(), title, 'featured on the home');
  t.match(await p.locator('[data-testid="home-news"]').innerText(), news.title, 'latest news on the home');
  await p.goto(`${base}/il-mio-comune`);
  await s.check(p, 'flow-events-mio-comune-choose-390');
  await p.getByLabel('Comune', { exact: true }).selectOption({ label: 'Campobasso' });
  await p.getByTestId('choose-comune').click();
  await p.getByTestId('mio-comune').waitFor();
  await s.check(p, 'flow-events-mio-comune-390');
  t.match(await p.getByTestId('mio-comune-events').innerText(), title, 'the new event under Il mio Comune');
  t.match(await p.getByTestId('mio-comune-news').innerText(), news.title, 'and the comune’s news');
  await p.getByTestId('mio-comune-events').getByRole('link', { name: title }).click();
  await p.waitForURL(new RegExp(`/eventi/${eventId}(/|$)`));
  await s.check(p, 'flow-events-event-390');
  t.equal(await p.locator('img[srcset*="/eventi/immagini/"]').first().getAttribute('alt'), 'Caciocavalli appesi sopra la brace', 'the picture with its alt text');

  // Saves it.
  await p.getByTestId('save-event').click();
  await p.waitForLoadState('load');
  await p.goto(`${base}/i-miei-eventi`);
  await s.check(p, 'flow-events-miei-eventi-390');
  t.match(await p.locator('main').innerText(), title, 'listed in I miei eventi');

  // Adds it to the calendar: the .ics parses back.
  await p.goto(`${base}/eventi/${eventId}`);
  const [download] = await Promise.all([p.waitForEvent('download'), p.getByTestId('ics-link').click()]);
  const raw = fs.readFileSync((await download.path())!, 'utf8');
  const ev = Object.values(ical.sync.parseICS(raw)).find((c) => c?.type === 'VEVENT') as ical.VEvent;
  t.equal(ev.summary, title, 'ICS: title');
  t.equal(new Date(ev.start as unknown as string).toISOString(), row.startsAt, 'ICS: start instant');
  t.match(String(ev.location), 'Piazza Municipio', 'ICS: place');

  // The service worker registers and controls the page after a reload.
  const scope = await p.evaluate(async () => (await navigator.serviceWorker.ready).scope);
  t.equal(scope, `${base}/`, 'service worker registered for the whole portal');
  await p.reload();
  t.ok(await p.evaluate(() => navigator.serviceWorker.controller !== null), 'and controls the page');

  // 3. The same public pages at 1280 px, the news pages at both widths, the admin's zones.
  const desk = await s.context(1280);
  const visit = async (page: Page, path: string, name: string) => {
    await page.goto(`${base}${path}`);
    await s.check(page, name);
  };
  await visit(desk.page, '/', 'flow-events-home-1280');
  await visit(desk.page, '/il-mio-comune', 'flow-events-mio-comune-1280');
  await visit(desk.page, `/eventi/${eventId}`, 'flow-events-event-1280');
  await visit(desk.page, '/eventi', 'flow-events-list-1280');
  await visit(desk.page, '/i-miei-eventi', 'flow-events-miei-eventi-1280');
  await visit(desk.page, '/notizie', 'flow-news-list-1280');
  await visit(desk.page, `/notizie/${news.id}`, 'flow-news-detail-1280');
  await visit(p, '/eventi', 'flow-events-list-390');
  await visit(p, '/notizie', 'flow-news-list-390');
  await visit(p, `/notizie/${news.id}`, 'flow-news-detail-390');
  const adm = await s.context(390);
  await s.spidLogin(adm.page, admin, '/admin/zone');
  await s.check(adm.page, 'flow-zones-390');
  await visit(adm.page, '/admin/zone/comuni', 'flow-zones-assign-390');
  const op390 = await s.context(390);
  await s.spidLogin(op390.page, operator, `/backoffice/enti/${campobasso.id}/eventi/nuovo`);
  await s.check(op390.page, 'flow-events-bo-new-390');
  await visit(op390.page, `/backoffice/enti/${campobasso.id}/eventi/${eventId}`, 'flow-events-bo-detail-390');

  const violations = Object.entries(s.axeResults).filter(([, v]) => v.length > 0);
  t.same(violations, [], 'axe: no WCAG 2.1 A/AA violations on any page');
  t.same(s.thirdParty, [], 'no request leaves the portal');
});
