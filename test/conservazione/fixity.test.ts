/**
 * Fixity audit (issue #16 item 6) and the "Verifiche e allarmi" page: a file altered or removed
 * on disk is found, with an alert and a helpdesk ticket; a run is resumed after a slice ends or the
 * store fails; the cycle is respected (injected clock); discarded blobs are skipped; the page's
 * roles, the acknowledgement and the "verify now" button; the page in Chromium at 1280 and 390 px.
 */
import fs from 'node:fs';
import path from 'node:path';
import { and, eq, isNull } from 'drizzle-orm';
import t from 'tap';
import { demoUserFiscalCodes } from '../../src/modules/enti/demo-seed.js';
import type { ConservazioneCtx } from '../../src/modules/conservazione/context.js';
import { storeBlob } from '../../src/modules/conservazione/blobs.js';
import { runFixityAudit } from '../../src/modules/conservazione/fixity.js';
import { consAlerts, consAuditResults, consAuditRuns, consBlobs, consEvents } from '../../src/modules/conservazione/schema.js';
import { tickets } from '../../src/modules/helpdesk/schema.js';
import type { BlobStore } from '../../src/modules/conservazione/storage.js';
import { buildTestApp, csrfFrom, form, FORM_HEADERS, loginAs } from '../helpers.js';
import { chromiumAvailable, e2eSession, PAGE_WIDTHS } from '../e2e/browser.js';
import { layoutProblems } from '../e2e/layout-check.js';
import { freePort } from '../pagopa/helpers.js';
import { dialectOf, sqlAll, sqlGet } from '../../src/db/raw.js';

const who = (role: string, istat?: string) => demoUserFiscalCodes().find((u) => u.role === role && (istat === undefined || u.enteIstat === istat))!.fiscalCode;
const DAY = 86_400_000;

/** A context with a clock the test moves. */
function withClock(base: ConservazioneCtx, start: Date) {
  let at = start.getTime();
  const ctx: ConservazioneCtx = { ...base, now: () => new Date(at) };
  return { ctx, advance: (ms: number) => (at += ms), at: () => new Date(at) };
}

function blobFile(ctx: ConservazioneCtx, key: string): string {
  return path.join(ctx.config.conservazione.dir, 'store', key.slice(0, 2), key.slice(2, 4), key);
}

function flipByte(file: string, at = 0): void {
  fs.chmodSync(file, 0o644);
  const b = fs.readFileSync(file);
  b[at] = b[at]! ^ 0x20;
  fs.writeFileSync(file, b);
}

async function storeMany(ctx: ConservazioneCtx, n: number, label: string): Promise<string[]> {
  const keys: string[] = [];
  for (let i = 0; i < n; i++) keys.push((await storeBlob(ctx, Buffer.from(`${label} – documento ${i}`))).key);
  // In the order the audit walks them: storage order on SQLite (rowid), key order on PostgreSQL.
  return dialectOf(ctx.db) === 'postgres' ? sorted(keys) : keys;
}

function sorted(keys: string[]): string[] {
  return [...keys].sort();
}

t.test('fixity audit', async (t) => {
  const app = await buildTestApp(t);
  const { ctx, advance, at } = withClock(app.conservazione, new Date('2031-03-10T08:00:00Z'));
  const cycle = ctx.config.conservazione.auditCycleDays;
  const db = ctx.db;
  const keys = await storeMany(ctx, 6, 'ricevuta');

  await t.test('a first run checks every blob, all intact; one audit event per run', async (t) => {
    const eventsBefore = (await db.select().from(consEvents).orderBy(consEvents.seq)).length;
    const r = await runFixityAudit(ctx, { maxBlobs: 100 });
    t.match(r, { checked: 6, ok: 6, mismatches: 0, missing: 0, done: true });
    const run = (await db.select().from(consAuditRuns).where(eq(consAuditRuns.id, r.runId!)).limit(1))[0]!;
    t.match(run, { status: 'done', checked: 6, ok: 6, cursor: keys.at(-1) });
    t.equal(run.finishedAt, at().toISOString());
    t.equal((await db.select().from(consAuditResults).where(eq(consAuditResults.runId, run.id))).length, 6, 'one result row per blob');
    for (const b of await db.select().from(consBlobs)) t.match(b, { lastAuditOutcome: 'ok', lastAuditAt: at().toISOString() });
    const events = (await db.select().from(consEvents).orderBy(consEvents.seq)).slice(eventsBefore);
    t.equal(events.length, 1);
    t.match(events[0], { kind: 'audit', subject: `audit-run:${run.id}`, actor: 'system' });
    t.match(JSON.parse(events[0]!.details), { checked: 6, ok: 6, mismatches: 0, missing: 0 });
  });

  await t.test('nothing due within the cycle: no new run', async (t) => {
    advance((cycle - 1) * DAY);
    const r = await runFixityAudit(ctx, { maxBlobs: 100 });
    t.same(r, { runId: null, checked: 0, ok: 0, mismatches: 0, missing: 0, done: true });
    t.equal((await db.select().from(consAuditRuns)).length, 1);
  });

  await t.test('a new blob is due at once; the old ones only after the cycle', async (t) => {
    const [fresh] = await storeMany(ctx, 1, 'nuovo');
    const r = await runFixityAudit(ctx, { maxBlobs: 100 });
    t.match(r, { checked: 1, ok: 1, done: true });
    t.same(
      (await db.select({ k: consAuditResults.blobKey }).from(consAuditResults).where(eq(consAuditResults.runId, r.runId!))).map((x) => x.k),
      [fresh],
    );
  });

  await t.test('after the cycle: a byte changed on disk and a removed file are found, with alerts and tickets', async (t) => {
    advance(2 * DAY);
    const altered = keys[1]!;
    const removed = keys[4]!;
    flipByte(blobFile(ctx, altered), 5);
    fs.rmSync(blobFile(ctx, removed));
    const ticketsBefore = (await db.select().from(tickets)).length;
    const r = await runFixityAudit(ctx, { maxBlobs: 100 });
    t.match(r, { checked: 6, ok: 4, mismatches: 1, missing: 1, done: true }, 'the fresh blob is not due yet');
    const results = await db.select().from(consAuditResults).where(eq(consAuditResults.runId, r.runId!));
    t.match(results.find((x) => x.blobKey === altered), { outcome: 'mismatch', actualSha256: /^[0-9a-f]{64}$/ });
    t.not(results.find((x) => x.blobKey === altered)!.actualSha256, altered);
    t.match(results.find((x) => x.blobKey === removed), { outcome: 'missing', actualSha256: null });
    t.match((await db.select().from(consBlobs).where(eq(consBlobs.key, altered)).limit(1))[0], { lastAuditOutcome: 'mismatch' });
    t.match((await db.select().from(consBlobs).where(eq(consBlobs.key, removed)).limit(1))[0], { lastAuditOutcome: 'missing' });

    const alerts = await db.select().from(consAlerts);
    t.equal(alerts.length, 2);
    const mismatch = alerts.find((a) => a.kind === 'fixity_mismatch')!;
    t.equal(mismatch.subject, `blob:${altered}`);
    t.match(mismatch.message, /non corrisponde più alla sua impronta SHA-256/);
    t.match(alerts.find((a) => a.kind === 'fixity_missing'), { subject: `blob:${removed}`, message: /non si trova più/ });
    const newTickets = (await db.select().from(tickets)).slice(ticketsBefore);
    t.equal(newTickets.length, 2, 'a helpdesk ticket per failure');
    t.ok(newTickets.every((x) => x.category === 'conservazione' && x.priority === 'critica'));
    t.equal(mismatch.ticketId, newTickets.find((x) => x.subject.includes(altered))?.id);
    const events = await db.select().from(consEvents);
    t.ok(events.some((e) => e.kind === 'audit' && e.subject === `blob:${altered}`), 'the failure is in the event chain');
    t.match(JSON.parse(events.at(-1)!.details), { run: r.runId, mismatches: 1, missing: 1 }, 'then the run');
  });

  await t.test('a still-open alert for the same blob is not raised twice', async (t) => {
    advance((cycle + 1) * DAY);
    const r = await runFixityAudit(ctx, { maxBlobs: 100 });
    t.match(r, { mismatches: 1, missing: 1 });
    t.equal((await db.select().from(consAlerts)).length, 2);
    await db.update(consAlerts).set({ acknowledgedAt: at().toISOString(), acknowledgedBy: 'test' });
    advance((cycle + 1) * DAY);
    await runFixityAudit(ctx, { maxBlobs: 100 });
    t.equal((await db.select().from(consAlerts).where(isNull(consAlerts.acknowledgedAt))).length, 2, 'once taken in charge, a failure found again is a new alert');
  });

  await t.test('discarded blobs (scarto) are skipped', async (t) => {
    advance((cycle + 1) * DAY);
    await db.update(consBlobs).set({ discardedAt: at().toISOString() }).where(eq(consBlobs.key, keys[4]!));
    const r = await runFixityAudit(ctx, { maxBlobs: 100 });
    t.equal(r.checked, 6, '7 blobs, one discarded');
    t.notOk((await db.select().from(consAuditResults).where(and(eq(consAuditResults.runId, r.runId!), eq(consAuditResults.blobKey, keys[4]!))).limit(1))[0]);
  });
});

t.test('fixity audit: a full run (the "verify now" button) re-checks blobs audited within the cycle', async (t) => {
  const app = await buildTestApp(t);
  const { ctx } = withClock(app.conservazione, new Date('2031-03-10T08:00:00Z'));
  const db = ctx.db;
  const keys = await storeMany(ctx, 6, 'delibera');
  t.match(await runFixityAudit(ctx, { maxBlobs: 100 }), { checked: 6, ok: 6 }, 'all audited now');
  const target = keys[2]!;
  flipByte(blobFile(ctx, target), 3);
  const scheduled = await runFixityAudit(ctx, { maxBlobs: 100 });
  t.equal(scheduled.runId, null, 'the scheduled pass has nothing due: the change is not seen yet');
  const full = await runFixityAudit(ctx, { maxBlobs: 100, full: true });
  t.match(full, { checked: 6, ok: 5, mismatches: 1, done: true }, 'the full run checks every blob and finds it');
  t.equal((await db.select().from(consAlerts).where(eq(consAlerts.subject, `blob:${target}`))).length, 1, 'with its alert');
});

t.test('fixity audit: resumable', async (t) => {
  const app = await buildTestApp(t);
  const { ctx, advance } = withClock(app.conservazione, new Date('2031-05-01T08:00:00Z'));
  const db = ctx.db;
  const keys = await storeMany(ctx, 10, 'flusso');

  await t.test('slices of 4: the run goes on from its cursor', async (t) => {
    const a = await runFixityAudit(ctx, { maxBlobs: 4 });
    t.match(a, { checked: 4, done: false });
    t.match((await db.select().from(consAuditRuns).limit(1))[0], { status: 'running', cursor: keys[3], checked: 4 });
    advance(60_000);
    const b = await runFixityAudit(ctx, { maxBlobs: 4 });
    t.equal(b.runId, a.runId, 'the same run');
    t.match(b, { checked: 4, done: false });
    t.match((await db.select().from(consAuditRuns).limit(1))[0], { cursor: keys[7], checked: 8 });
  });

  await t.test('the store fails mid-slice: the run is interrupted, then resumed where it stopped', async (t) => {
    let calls = 0;
    const failing: BlobStore = {
      ...ctx.store,
      rehash: async (key) => {
        if (++calls === 2) throw new Error('archivio non raggiungibile');
        return ctx.store.rehash(key);
      },
    };
    const broken = { ...ctx, store: failing };
    const err = await runFixityAudit(broken, { maxBlobs: 4 }).catch((e: unknown) => e);
    t.match(err, { message: 'archivio non raggiungibile' });
    t.match((await db.select().from(consAuditRuns).limit(1))[0], { status: 'interrupted', cursor: keys[7], checked: 8 }, 'the slice left nothing half-written');
    const c = await runFixityAudit(ctx, { maxBlobs: 4 });
    t.match(c, { checked: 2, done: true });
    const run = (await db.select().from(consAuditRuns).limit(1))[0]!;
    t.match(run, { status: 'done', checked: 10, ok: 10 });
    const audited = (await db.select({ k: consAuditResults.blobKey }).from(consAuditResults).where(eq(consAuditResults.runId, run.id))).map((x) => x.k).sort();
    t.same(audited, sorted(keys), 'each blob audited exactly once in the run');
    t.equal((await db.select().from(consAuditRuns)).length, 1, 'no second run');
  });

  await t.test('two passes at once: the second waits for the first', async (t) => {
    advance(400 * 86_400_000);
    const [x, y] = await Promise.all([runFixityAudit(ctx, { maxBlobs: 100 }), runFixityAudit(ctx, { maxBlobs: 100 })]);
    t.same(x, y);
    t.equal((await db.select().from(consAuditResults)).length, 20, 'ten blobs audited once more, not twice');
  });

  await t.test('outcomes written but the alert failed (helpdesk down): the next pass raises it', async (t) => {
    advance(400 * 86_400_000);
    flipByte(blobFile(ctx, keys[0]!));
    const noHelpdesk = {
      ...ctx,
      tickets: () => {
        throw new Error('helpdesk non disponibile');
      },
    };
    const err = await runFixityAudit(noHelpdesk, { maxBlobs: 100 }).catch((e: unknown) => e);
    t.match(err, { message: 'helpdesk non disponibile' });
    t.equal((await db.select().from(consAlerts)).length, 0);
    const run = (await db.select().from(consAuditRuns)).at(-1)!;
    t.match(run, { checked: 10, mismatches: 1 }, 'the outcomes are kept');
    t.not(run.status, 'done', 'the run is not finished while an alert is owed');
    const r = await runFixityAudit(ctx, { maxBlobs: 100 });
    t.match(r, { runId: run.id, checked: 0, done: true });
    t.match(await db.select().from(consAlerts), [{ kind: 'fixity_mismatch', subject: `blob:${keys[0]}`, ticketId: Number }]);
    await runFixityAudit(ctx, { maxBlobs: 100 });
    t.equal((await db.select().from(consAlerts)).length, 1, 'raised once');
  });
});

t.test('Verifiche e allarmi page', async (t) => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const app = await buildTestApp(t, { PORT: String(port), PUBLIC_URL: base });
  const ctx = app.conservazione;
  const admin = await loginAs(app, who('sael_admin'));
  const helpdesk = await loginAs(app, who('helpdesk'));
  const operator = await loginAs(app, who('operator', '070006'));
  const enteAdmin = await loginAs(app, who('ente_admin'));
  const URL = '/admin/conservazione/verifiche';
  const HTML = { accept: 'text/html' };

  const keys = await storeMany(ctx, 5, 'delibera');
  flipByte(blobFile(ctx, keys[2]!));

  await t.test('roles: anonymous 401, ente users 403, helpdesk reads without forms, the responsabile 200', async (t) => {
    t.equal((await app.inject({ url: URL, headers: HTML })).statusCode, 401);
    for (const cookie of [operator, enteAdmin]) {
      const res = await app.inject({ url: URL, headers: { ...HTML, cookie } });
      t.equal(res.statusCode, 403);
      t.notMatch(res.body, /audit-runs/);
    }
    const ro = await app.inject({ url: URL, headers: { ...HTML, cookie: helpdesk } });
    t.equal(ro.statusCode, 200);
    t.notMatch(ro.body, /audit-run-form|presa-in-carico|verifiche\/avvia/, 'no forms for the helpdesk');
    t.match(ro.body, /data-testid="audit-runs"/);
    const res = await app.inject({ url: URL, headers: { ...HTML, cookie: admin } });
    t.equal(res.statusCode, 200);
    t.match(res.body, /data-testid="audit-run-form"/);
    t.match(res.body, /data-testid="audit-due">5</);
    t.match(res.body, /Nessun allarme aperto/);
  });

  await t.test('"Avvia verifica ora": one slice, the failure shown, alert to take in charge (CSRF, audited)', async (t) => {
    const noToken = await app.inject({ method: 'POST', url: `${URL}/avvia`, headers: { ...FORM_HEADERS, cookie: admin }, payload: '' });
    t.equal(noToken.statusCode, 403, 'no CSRF token: refused');
    t.equal((await ctx.db.select().from(consAuditRuns)).length, 0);
    const { token, cookie } = await csrfFrom(app, URL, admin);
    const hd = await csrfFrom(app, '/helpdesk', helpdesk);
    const asHelpdesk = await app.inject({ method: 'POST', url: `${URL}/avvia`, headers: { ...FORM_HEADERS, cookie: hd.cookie }, payload: form({ _csrf: hd.token }) });
    t.equal(asHelpdesk.statusCode, 403, 'the helpdesk cannot start it');
    const run = await app.inject({ method: 'POST', url: `${URL}/avvia`, headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token }) });
    t.equal(run.statusCode, 303);
    t.equal(run.headers.location, URL);
    const page = await app.inject({ url: URL, headers: { ...HTML, cookie } });
    t.match(page.body, /Verifica n\. 1: 5 file controllati, 4 integri, 1 alterato \(vedi gli allarmi aperti\)\. Verifica completata\./);
    t.match(page.body, /data-testid="audit-failing">1</);
    t.match(page.body, new RegExp(`data-failure-key="${keys[2]}"`));
    t.match(page.body, /File alterato<\/span>Allarme n\. 1/);
    t.match(page.body, /href="\/helpdesk\/ticket\/\d+">Segnalazione helpdesk n\./);
    const audit = (await sqlAll(app.db, "SELECT actor, action FROM audit_log WHERE action = 'conservazione.audit.run'"));
    t.equal(audit.length, 1);
    t.match((await ctx.db.select().from(consEvents).orderBy(consEvents.seq)).at(-1), { kind: 'audit', subject: 'audit-run:1', actor: /^user:\d+$/ });

    const alertId = (await ctx.db.select().from(consAlerts).limit(1))[0]!.id;
    const ackUrl = `${URL}/allarmi/${alertId}/presa-in-carico`;
    t.equal((await app.inject({ method: 'POST', url: ackUrl, headers: { ...FORM_HEADERS, cookie: hd.cookie }, payload: form({ _csrf: hd.token }) })).statusCode, 403);
    const ack = await app.inject({ method: 'POST', url: ackUrl, headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token }) });
    t.equal(ack.statusCode, 303);
    const row = (await ctx.db.select().from(consAlerts).where(eq(consAlerts.id, alertId)).limit(1))[0]!;
    t.ok(row.acknowledgedAt);
    t.match(row.acknowledgedBy, /^user:\d+$/);
    t.equal(((await sqlGet(app.db, "SELECT count(*) AS n FROM audit_log WHERE action = 'conservazione.alert.acknowledge' AND entity_id = ?", String(alertId))) as { n: number }).n, 1, 'audited');
    const after = await app.inject({ url: URL, headers: { ...HTML, cookie } });
    t.match(after.body, /Allarme n\. 1 preso in carico\./);
    t.match(after.body, /Nessun allarme aperto/);
    t.match(after.body, /data-testid="acknowledged-alerts"/);
    t.match((await ctx.db.select().from(consEvents).orderBy(consEvents.seq)).at(-1), { kind: 'audit', subject: `blob:${keys[2]}` });
    const again = await app.inject({ method: 'POST', url: ackUrl, headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token }) });
    t.equal(again.statusCode, 409);
    t.match(again.body, /già stato preso in carico/);
    const missing = await app.inject({ method: 'POST', url: `${URL}/allarmi/9999/presa-in-carico`, headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token }) });
    t.equal(missing.statusCode, 404);
    const bad = await app.inject({ method: 'POST', url: `${URL}/allarmi/abc/presa-in-carico`, headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token }) });
    t.equal(bad.statusCode, 400);
    const nothing = await app.inject({ method: 'POST', url: `${URL}/avvia`, headers: { ...FORM_HEADERS, cookie }, payload: form({ _csrf: token }) });
    t.equal(nothing.statusCode, 303);
    // The button always re-checks every file, even those audited within the cycle.
    t.match((await app.inject({ url: URL, headers: { ...HTML, cookie } })).body, /Verifica n\. \d+: \d+ file controllat[oi]/);
  });

  await t.test('in Chromium at 1280 and 390 px: axe at 1280, layout at both', { skip: chromiumAvailable() ? false : 'chromium not installed', timeout: 120_000 }, async (t) => {
    // One more open alert to show, from another kind, for an ente.
    fs.rmSync(blobFile(ctx, keys[0]!));
    await runFixityAudit({ ...ctx, now: () => new Date(Date.now() + 400 * DAY) }, { maxBlobs: 100 });
    await app.listen({ port, host: '127.0.0.1' });
    const s = await e2eSession(base);
    t.teardown(() => s.browser.close());
    const [name, value] = admin.split(/=(.*)/s) as [string, string];
    for (const width of PAGE_WIDTHS) {
      const { ctx: bctx, page } = await s.context(width);
      await bctx.addCookies([{ name, value, url: base }]);
      const res = await page.goto(`${base}${URL}`);
      t.equal(res?.status(), 200);
      t.same(await layoutProblems(page), [], `layout at ${width}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      t.equal(overflow, 0, `no horizontal scroll at ${width}`);
      await s.check(page, `conservazione-verifiche-${width}`, { axe: width === 1280 });
      await bctx.close();
    }
    for (const [p, violations] of Object.entries(s.axeResults)) t.same(violations, [], `axe WCAG 2.1 A/AA: ${p}`);
    t.same(s.thirdParty, [], 'no third-party requests');
  });
});
