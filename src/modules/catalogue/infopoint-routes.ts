/**
 * Infopoint (seed item 10), public without login: `/infopoint` (offices, hours, contacts, how to
 * use the services), `/infopoint/modulistica` (the generated paper forms and the SAEL admin's
 * uploads), `/infopoint/notizie[/:id]` (published news with attachments), `/infopoint/documenti/:id`
 * (downloads), `/infopoint/suggerimenti` (the "ascolto degli utenti" form → helpdesk ticket;
 * rate-limited per IP and with a honeypot field). SAEL admin: `/admin/catalogo/infopoint[...]`
 * (offices, news draft/publish/unpublish with attachments, modulistica uploads).
 *
 * The Province's office is seeded at start-up when the table is empty (seedInfopoint, idempotent).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasRole, requireRole } from '../../plugins/auth.js';
import { HttpError } from '../../plugins/errors.js';
import { setFlash, takeFlash } from '../../plugins/sessions/flash.js';
import { readMultipart } from '../helpdesk/routes.js';
import { KIND_LABELS, listServices } from './services-repository.js';
import {
  addDocument,
  deleteDocument,
  deleteOffice,
  DocumentError,
  getDocument,
  getNews,
  getOffice,
  getPublicDocument,
  getPublishedNews,
  INFOPOINT_DOCUMENT_MAX_BYTES,
  listAllNews,
  listDocuments,
  listOffices,
  listPublishedNews,
  saveNews,
  saveOffice,
  seedInfopoint,
  setNewsStatus,
  submitSuggestion,
  type CatalogueDocument,
  type News,
  type Office,
} from './infopoint-repository.js';
import { renderAdesioneModulo, renderRichiestaModulo, type ModuloOffice, type ModuloService } from './infopoint-moduli-pdf.js';

const idParams = { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] } as const;
const docParams = { type: 'object', properties: { id: { type: 'integer', minimum: 1 }, docId: { type: 'integer', minimum: 1 } }, required: ['id', 'docId'] } as const;
const EMAIL = /^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/;
/** Suggestions: at most this many per IP in the window (plus the honeypot). */
export const SUGGESTIONS_RATE = { max: 5, timeWindow: '10 minutes' } as const;

const PUBLIC_NAV = [
  { href: '/infopoint', label: 'Sedi e contatti' },
  { href: '/infopoint/modulistica', label: 'Modulistica' },
  { href: '/infopoint/notizie', label: 'Notizie per gli enti' },
  { href: '/infopoint/suggerimenti', label: 'Suggerimenti' },
];

const officeBody = {
  type: 'object',
  properties: {
    _csrf: { type: 'string' },
    name: { type: 'string', maxLength: 120 },
    address: { type: 'string', maxLength: 200 },
    hours: { type: 'string', maxLength: 500 },
    phone: { type: 'string', maxLength: 40 },
    email: { type: 'string', maxLength: 120 },
    pec: { type: 'string', maxLength: 120 },
    notes: { type: 'string', maxLength: 1000 },
    sortOrder: { type: 'string', maxLength: 4 },
  },
} as const;
type OfficeForm = Partial<Record<'name' | 'address' | 'hours' | 'phone' | 'email' | 'pec' | 'notes' | 'sortOrder', string>>;

const newsBody = {
  type: 'object',
  properties: { _csrf: { type: 'string' }, title: { type: 'string', maxLength: 150 }, summary: { type: 'string', maxLength: 300 }, body: { type: 'string', maxLength: 20000 } },
} as const;
type NewsForm = Partial<Record<'title' | 'summary' | 'body', string>>;

const suggestionBody = {
  type: 'object',
  properties: {
    _csrf: { type: 'string' },
    name: { type: 'string', maxLength: 80 },
    email: { type: 'string', maxLength: 120 },
    text: { type: 'string', maxLength: 4000 },
    website: { type: 'string', maxLength: 200 },
  },
} as const;
type SuggestionForm = Partial<Record<'name' | 'email' | 'text' | 'website', string>>;

const trimmed = (s: string | undefined) => (s ?? '').trim();
const orNull = (s: string | undefined) => trimmed(s) || null;

/** Plain text with blank lines between paragraphs → paragraphs (escaped by the template). */
function paragraphs(text: string): string[] {
  return text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean);
}

function sizeLabel(bytes: number): string {
  return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1).replace('.', ',')} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

const TYPE_LABELS: Record<string, string> = { 'application/pdf': 'PDF', 'image/png': 'PNG', 'image/jpeg': 'JPEG' };
const docView = (d: CatalogueDocument) => ({ ...d, size: sizeLabel(d.sizeBytes), typeLabel: TYPE_LABELS[d.contentType] ?? d.contentType });

/** Content-Disposition with an ASCII fallback and the UTF-8 name (RFC 6266 / 5987). */
export function contentDisposition(fileName: string): string {
  const ascii = fileName.normalize('NFKD').replace(/[^\x20-\x7e]/g, '').replace(/["\\;]/g, '_') || 'documento';
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}

export default async function infopointRoutes(app: FastifyInstance): Promise<void> {
  await seedInfopoint(app.db);
  const sael = requireRole('sael_admin');
  const now = () => app.catalogue.now();
  const nav = (current: string) => PUBLIC_NAV.map((n) => ({ ...n, current: n.href === current }));

  const moduloData = async (): Promise<{ services: ModuloService[]; office: ModuloOffice | null }> => {
    const rows = await listServices(app.db, { activeOnly: true });
    const office = (await listOffices(app.db))[0] ?? null;
    return {
      services: rows.map((s) => ({ code: s.code, name: s.name, kindLabel: KIND_LABELS[s.kind].toLowerCase() })),
      office: office ? { name: office.name, address: office.address, email: office.email, pec: office.pec } : null,
    };
  };

  // ---------------------------------------------------------------- public pages
  app.get('/infopoint', async (_request, reply) => {
    const offices = (await listOffices(app.db)).map((o) => ({ ...o, phoneHref: o.phone ? `tel:${o.phone.replace(/[^\d+]/g, '')}` : null }));
    const news = await listPublishedNews(app.db, 3);
    return reply.page('catalogue/infopoint-home', { title: 'Infopoint S.A.E.L.', nav: nav('/infopoint'), offices, news, anyDemo: offices.some((o) => o.isDemo) });
  });

  app.get('/infopoint/modulistica', async (_request, reply) => {
    const uploaded = (await listDocuments(app.db, 'modulo', null)).map(docView);
    return reply.page('catalogue/infopoint-modulistica', { title: 'Modulistica S.A.E.L.', nav: nav('/infopoint/modulistica'), uploaded });
  });

  const sendPdf = (reply: FastifyReply, name: string, pdf: Buffer) =>
    reply.type('application/pdf').header('content-disposition', contentDisposition(name)).header('cache-control', 'no-cache').send(pdf);
  app.get('/infopoint/modulistica/modulo-adesione.pdf', async (_request, reply) => {
    const d = await moduloData();
    return sendPdf(reply, 'modulo-adesione-sael.pdf', await renderAdesioneModulo(d.services, d.office));
  });
  app.get('/infopoint/modulistica/modulo-richiesta.pdf', async (_request, reply) => {
    const d = await moduloData();
    return sendPdf(reply, 'modulo-richiesta-sael.pdf', await renderRichiestaModulo(d.services, d.office));
  });

  app.get('/infopoint/notizie', async (_request, reply) => {
    const news = await listPublishedNews(app.db, 100);
    return reply.page('catalogue/infopoint-news-list', { title: 'Notizie per gli enti', nav: nav('/infopoint/notizie'), news });
  });

  app.get<{ Params: { id: number } }>('/infopoint/notizie/:id', { schema: { params: idParams } }, async (request, reply) => {
    const n = await getPublishedNews(app.db, request.params.id);
    if (!n) throw new HttpError(404, 'Notizia non trovata.');
    const attachments = (await listDocuments(app.db, 'news_attachment', n.id)).map(docView);
    return reply.page('catalogue/infopoint-news', { title: n.title, nav: nav('/infopoint/notizie'), n, paragraphs: paragraphs(n.body), attachments });
  });

  app.get<{ Params: { id: number } }>('/infopoint/documenti/:id', { schema: { params: idParams } }, async (request, reply) => {
    // The public sees moduli and the attachments of published news; the SAEL admin also drafts'.
    let doc = await getPublicDocument(app.db, request.params.id);
    if (!doc && hasRole(request.user, 'sael_admin')) {
      const d = await getDocument(app.db, request.params.id);
      if (d && (d.kind === 'modulo' || d.kind === 'news_attachment')) doc = d;
    }
    if (!doc) throw new HttpError(404, 'Documento non trovato.');
    const full = path.join(app.config.dataDir, doc.storagePath);
    if (!fs.existsSync(full)) throw new HttpError(404, 'Documento non più disponibile.');
    return reply
      .type(doc.contentType)
      .header('content-disposition', contentDisposition(doc.fileName))
      .header('x-content-sha256', doc.sha256)
      .header('cache-control', 'no-cache')
      .send(fs.createReadStream(full));
  });

  const suggestionsPage = (request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}) =>
    reply.page('catalogue/infopoint-suggestions', { title: 'Suggerimenti – ascolto degli utenti', nav: nav('/infopoint/suggerimenti'), csrf: true, notice: takeFlash(request), form: {}, ...extra });

  app.get('/infopoint/suggerimenti', async (request, reply) => suggestionsPage(request, reply));

  app.post<{ Body: SuggestionForm }>('/infopoint/suggerimenti', { schema: { body: suggestionBody }, config: { rateLimit: SUGGESTIONS_RATE } }, async (request, reply) => {
    const b = request.body ?? {};
    // Honeypot: a field people do not see (and screen readers are told to skip); bots fill it.
    if (trimmed(b.website) !== '') {
      request.log.warn({ honeypot: true }, 'infopoint suggestion refused');
      return suggestionsPage(request, reply.code(400), { errors: { general: 'Il messaggio non è stato inviato. Se sei una persona, ricarica la pagina e riprova.' }, form: b });
    }
    const text = trimmed(b.text);
    const email = trimmed(b.email);
    const errors: Record<string, string> = {};
    if (text.length < 10) errors.text = 'Scrivi il suggerimento (almeno 10 caratteri).';
    if (email && !EMAIL.test(email)) errors.email = 'Indirizzo e-mail non valido (es. nome@esempio.it), oppure lascia vuoto il campo.';
    if (Object.keys(errors).length) return suggestionsPage(request, reply.code(400), { errors, form: b });
    try {
      const id = await submitSuggestion(app.ticketsContext(), app.db, { name: orNull(b.name), email: email || null, text }, now(), request.id);
      setFlash(request, `Grazie: il suggerimento è stato registrato con il numero ${id}.${email ? ' Se serve, ti risponderemo all’indirizzo indicato.' : ''}`);
    } catch (e) {
      if (e instanceof DocumentError) throw new HttpError(e.status, e.message);
      throw e;
    }
    return reply.redirect('/infopoint/suggerimenti', 303);
  });

  // ---------------------------------------------------------------- SAEL admin
  const adminPage = async (request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}) => {
    const offices = await listOffices(app.db);
    const news = await listAllNews(app.db);
    const moduli = (await listDocuments(app.db, 'modulo', null)).map(docView);
    return reply.page('catalogue/infopoint-admin', {
      title: 'Infopoint – gestione',
      offices,
      news: news.map((n) => ({ ...n, published: n.status === 'published' })),
      moduli,
      maxMb: INFOPOINT_DOCUMENT_MAX_BYTES / 1048576,
      notice: takeFlash(request),
      csrf: true,
      ...extra,
    });
  };
  app.get('/admin/catalogo/infopoint', { preHandler: sael }, async (request, reply) => adminPage(request, reply));

  // Offices
  const officeForm = (o: Office): OfficeForm => ({ name: o.name, address: o.address, hours: o.hours, phone: o.phone ?? '', email: o.email ?? '', pec: o.pec ?? '', notes: o.notes ?? '', sortOrder: String(o.sortOrder) });
  const officePage = (reply: FastifyReply, office: Office | null, extra: Record<string, unknown> = {}) =>
    reply.page('catalogue/infopoint-admin-office', {
      title: office ? `Sede: ${office.name}` : 'Nuova sede',
      office,
      action: office ? `/admin/catalogo/infopoint/sedi/${office.id}` : '/admin/catalogo/infopoint/sedi',
      form: office ? officeForm(office) : { sortOrder: '0' },
      csrf: true,
      ...extra,
    });
  const checkOffice = (b: OfficeForm) => {
    const errors: Record<string, string> = {};
    if (trimmed(b.name).length < 3) errors.name = 'Scrivi il nome della sede.';
    if (trimmed(b.address).length < 5) errors.address = 'Scrivi l’indirizzo (via, numero, CAP e comune).';
    if (trimmed(b.hours).length < 3) errors.hours = 'Scrivi gli orari di apertura.';
    for (const k of ['email', 'pec'] as const) if (trimmed(b[k]) && !EMAIL.test(trimmed(b[k]))) errors[k] = 'Indirizzo non valido (es. nome@esempio.it).';
    if (trimmed(b.phone) && !/^[0-9+ ./()-]{5,40}$/.test(trimmed(b.phone))) errors.phone = 'Telefono non valido: solo cifre, spazi e + - . / ( ).';
    if (trimmed(b.sortOrder) && !/^\d{1,4}$/.test(trimmed(b.sortOrder))) errors.sortOrder = 'Un numero da 0 a 9999.';
    return errors;
  };
  const officeInput = (b: OfficeForm) => ({
    name: trimmed(b.name),
    address: trimmed(b.address),
    hours: trimmed(b.hours),
    phone: orNull(b.phone),
    email: orNull(b.email),
    pec: orNull(b.pec),
    notes: orNull(b.notes),
    sortOrder: Number(trimmed(b.sortOrder) || 0),
  });
  app.get('/admin/catalogo/infopoint/sedi/nuova', { preHandler: sael }, async (_request, reply) => officePage(reply, null));
  app.get<{ Params: { id: number } }>('/admin/catalogo/infopoint/sedi/:id', { preHandler: sael, schema: { params: idParams } }, async (request, reply) => {
    const o = await getOffice(app.db, request.params.id);
    if (!o) throw new HttpError(404, 'Sede non trovata.');
    return officePage(reply, o);
  });
  app.post<{ Body: OfficeForm }>('/admin/catalogo/infopoint/sedi', { preHandler: sael, schema: { body: officeBody } }, async (request, reply) => {
    const errors = checkOffice(request.body);
    if (Object.keys(errors).length) return officePage(reply.code(400), null, { errors, form: request.body });
    await saveOffice(app.db, null, officeInput(request.body), `user:${request.user!.id}`, request.id);
    setFlash(request, 'Sede aggiunta.');
    return reply.redirect('/admin/catalogo/infopoint', 303);
  });
  app.post<{ Params: { id: number }; Body: OfficeForm }>('/admin/catalogo/infopoint/sedi/:id', { preHandler: sael, schema: { params: idParams, body: officeBody } }, async (request, reply) => {
    const o = await getOffice(app.db, request.params.id);
    if (!o) throw new HttpError(404, 'Sede non trovata.');
    const errors = checkOffice(request.body);
    if (Object.keys(errors).length) return officePage(reply.code(400), o, { errors, form: request.body });
    await saveOffice(app.db, o.id, officeInput(request.body), `user:${request.user!.id}`, request.id);
    setFlash(request, 'Sede aggiornata.');
    return reply.redirect('/admin/catalogo/infopoint', 303);
  });

  app.post<{ Params: { id: number } }>('/admin/catalogo/infopoint/sedi/:id/elimina', { preHandler: sael, schema: { params: idParams, body: { type: 'object', properties: { _csrf: { type: 'string' } } } } }, async (request, reply) => {
    if (!(await deleteOffice(app.db, request.params.id, `user:${request.user!.id}`, request.id))) throw new HttpError(404, 'Sede non trovata.');
    setFlash(request, 'Sede eliminata.');
    return reply.redirect('/admin/catalogo/infopoint', 303);
  });

  // News
  const newsPage = async (request: FastifyRequest, reply: FastifyReply, n: News | null, extra: Record<string, unknown> = {}) =>
    reply.page('catalogue/infopoint-admin-news', {
      title: n ? `Notizia: ${n.title}` : 'Nuova notizia',
      n: n ? { ...n, published: n.status === 'published' } : null,
      action: n ? `/admin/catalogo/infopoint/notizie/${n.id}` : '/admin/catalogo/infopoint/notizie',
      form: n ? { title: n.title, summary: n.summary, body: n.body } : {},
      attachments: n ? (await listDocuments(app.db, 'news_attachment', n.id)).map(docView) : [],
      maxMb: INFOPOINT_DOCUMENT_MAX_BYTES / 1048576,
      notice: takeFlash(request),
      csrf: true,
      ...extra,
    });
  const checkNews = (b: NewsForm) => {
    const errors: Record<string, string> = {};
    if (trimmed(b.title).length < 5) errors.title = 'Il titolo deve avere almeno 5 caratteri.';
    if (trimmed(b.summary).length < 10) errors.summary = 'Scrivi un sommario (almeno 10 caratteri).';
    if (trimmed(b.body).length < 10) errors.body = 'Scrivi il testo della notizia (almeno 10 caratteri).';
    return errors;
  };
  const loadNews = async (id: number) => {
    const n = await getNews(app.db, id);
    if (!n) throw new HttpError(404, 'Notizia non trovata.');
    return n;
  };
  const actor = (request: FastifyRequest) => ({ userId: request.user!.id, requestId: request.id });
  app.get('/admin/catalogo/infopoint/notizie/nuova', { preHandler: sael }, async (request, reply) => newsPage(request, reply, null));
  app.post<{ Body: NewsForm }>('/admin/catalogo/infopoint/notizie', { preHandler: sael, schema: { body: newsBody } }, async (request, reply) => {
    const errors = checkNews(request.body);
    if (Object.keys(errors).length) return newsPage(request, reply.code(400), null, { errors, form: request.body });
    const id = await saveNews(app.db, null, { title: trimmed(request.body.title), summary: trimmed(request.body.summary), body: trimmed(request.body.body) }, actor(request), now());
    setFlash(request, 'Bozza salvata: aggiungi gli allegati e pubblicala quando è pronta.');
    return reply.redirect(`/admin/catalogo/infopoint/notizie/${id}`, 303);
  });
  app.get<{ Params: { id: number } }>('/admin/catalogo/infopoint/notizie/:id', { preHandler: sael, schema: { params: idParams } }, async (request, reply) =>
    newsPage(request, reply, await loadNews(request.params.id)),
  );
  app.post<{ Params: { id: number }; Body: NewsForm }>('/admin/catalogo/infopoint/notizie/:id', { preHandler: sael, schema: { params: idParams, body: newsBody } }, async (request, reply) => {
    const n = await loadNews(request.params.id);
    const errors = checkNews(request.body);
    if (Object.keys(errors).length) return newsPage(request, reply.code(400), n, { errors, form: request.body });
    await saveNews(app.db, n.id, { title: trimmed(request.body.title), summary: trimmed(request.body.summary), body: trimmed(request.body.body) }, actor(request), now());
    setFlash(request, 'Notizia salvata.');
    return reply.redirect(`/admin/catalogo/infopoint/notizie/${n.id}`, 303);
  });
  const csrfOnly = { type: 'object', properties: { _csrf: { type: 'string' } } } as const;
  for (const [slug, status, message] of [
    ['pubblica', 'published', 'Notizia pubblicata: è visibile a tutti su /infopoint/notizie.'],
    ['ritira', 'draft', 'Notizia ritirata: è tornata bozza e non è più visibile al pubblico.'],
  ] as const) {
    app.post<{ Params: { id: number } }>(`/admin/catalogo/infopoint/notizie/:id/${slug}`, { preHandler: sael, schema: { params: idParams, body: csrfOnly } }, async (request, reply) => {
      const n = await loadNews(request.params.id);
      if (n.status === status) throw new HttpError(409, status === 'published' ? 'La notizia è già pubblicata.' : 'La notizia è già una bozza.');
      await setNewsStatus(app.db, n.id, status, actor(request), now());
      setFlash(request, message);
      return reply.redirect(`/admin/catalogo/infopoint/notizie/${n.id}`, 303);
    });
  }

  /** Reads an upload (title + file) and stores it; answers the page again with the error when refused. */
  const upload = async (request: FastifyRequest, kind: 'modulo' | 'news_attachment', ownerId: number | null): Promise<{ message: string; status: number } | null> => {
    const mp = await readMultipart(request, INFOPOINT_DOCUMENT_MAX_BYTES);
    if (mp.tooLarge) return { message: `Il file supera ${INFOPOINT_DOCUMENT_MAX_BYTES / 1048576} MB.`, status: 413 };
    if (!mp.file) return { message: 'Scegli il file da caricare.', status: 400 };
    const title = trimmed(mp.fields.title).slice(0, 150) || mp.file.fileName.replace(/\.[^.]*$/, '').slice(0, 150);
    try {
      await addDocument(app.db, app.config.dataDir, { kind, ownerId, title, fileName: mp.file.fileName, data: mp.file.data }, actor(request));
      return null;
    } catch (e) {
      if (e instanceof DocumentError) return { message: e.message, status: e.status };
      throw e;
    }
  };
  app.post<{ Params: { id: number } }>('/admin/catalogo/infopoint/notizie/:id/allegati', { preHandler: sael, config: { upload: true }, schema: { params: idParams } }, async (request, reply) => {
    const n = await loadNews(request.params.id);
    const error = await upload(request, 'news_attachment', n.id);
    if (error) return newsPage(request, reply.code(error.status), n, { uploadError: error.message });
    setFlash(request, 'Allegato caricato.');
    return reply.redirect(`/admin/catalogo/infopoint/notizie/${n.id}`, 303);
  });
  app.post<{ Params: { id: number; docId: number } }>(
    '/admin/catalogo/infopoint/notizie/:id/allegati/:docId/elimina',
    { preHandler: sael, schema: { params: docParams, body: csrfOnly } },
    async (request, reply) => {
      const n = await loadNews(request.params.id);
      const d = await getDocument(app.db, request.params.docId);
      if (!d || d.kind !== 'news_attachment' || d.ownerId !== n.id) throw new HttpError(404, 'Allegato non trovato.');
      await deleteDocument(app.db, d.id, ['news_attachment'], actor(request));
      setFlash(request, `Allegato «${d.title}» eliminato.`);
      return reply.redirect(`/admin/catalogo/infopoint/notizie/${n.id}`, 303);
    },
  );

  // Modulistica
  app.post('/admin/catalogo/infopoint/modulistica', { preHandler: sael, config: { upload: true } }, async (request, reply) => {
    const error = await upload(request, 'modulo', null);
    if (error) return adminPage(request, reply.code(error.status), { uploadError: error.message });
    setFlash(request, 'Modulo caricato: è scaricabile da /infopoint/modulistica.');
    return reply.redirect('/admin/catalogo/infopoint', 303);
  });
  app.post<{ Params: { id: number } }>('/admin/catalogo/infopoint/modulistica/:id/elimina', { preHandler: sael, schema: { params: idParams, body: csrfOnly } }, async (request, reply) => {
    const d = await deleteDocument(app.db, request.params.id, ['modulo'], actor(request));
    if (!d) throw new HttpError(404, 'Modulo non trovato.');
    setFlash(request, `Modulo «${d.title}» eliminato.`);
    return reply.redirect('/admin/catalogo/infopoint', 303);
  });
}
