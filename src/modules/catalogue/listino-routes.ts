/**
 * The SAEL admin's listino pages (sael_admin only; every write audited in its transaction):
 * - `/admin/catalogo/classi`: the ente classes by population band (no overlap, no gap, the last
 *   open-ended), with how many comuni fall in each;
 * - `/admin/catalogo/listini`: price lists with their validity; `/admin/catalogo/listini/:id` the
 *   list's header and its grid service × class; `/admin/catalogo/listini/:id/servizi/:code` the
 *   prices of one service (default + one per class; fixed, per unit or whole-quantity bands);
 * - `/admin/catalogo/listini/override`: per-ente prices with their own validity.
 * Resolution order and band semantics: pricing.ts.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { auditContext } from '../../plugins/audit/index.js';
import { requireRole } from '../../plugins/auth.js';
import { HttpError } from '../../plugins/errors.js';
import { setFlash, takeFlash } from '../../plugins/sessions/flash.js';
import { formatEuro, parseEuroToCents } from '../../domain/money.js';
import { getEnte, listEnti } from '../enti/repository.js';
import { todayInItaly } from '../positions/service.js';
import {
  ClassInUseError,
  createOverride,
  createPriceList,
  deleteOverride,
  getPriceList,
  listEnteClasses,
  listOverrides,
  listPriceLists,
  pricesOfList,
  saveEnteClasses,
  setPrice,
  updatePriceList,
  type ClassInput,
  type PriceInput,
  type PriceList,
  type PriceListInput,
} from './price-repository.js';
import { classifyPopulation, isValidOn, listsByPriority, parseBands, validateBands, validateClassBands, type Band, type PriceModeName } from './pricing.js';
import { getServiceByCode, listServices, type CatalogueService } from './services-repository.js';
import { priceText } from './services-routes.js';
import { isIsoDate } from '../../domain/iso-date.js';

type Form = Record<string, string | undefined>;

const MODE_LABELS: Record<PriceModeName, string> = { fixed: 'Importo fisso', per_unit: 'Per unità', bands: 'Scaglioni di quantità' };
const MAX_CLASSES = 12;

// ------------------------------------------------------------------------------ pure form parsing


/** Bands typed one per line: "1-10: 150,00", "31-: 600" or "31+: 600" (open-ended). */
export function parseBandsText(text: string): { ok: true; bands: Band[] } | { ok: false; error: string } {
  const rows = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (rows.length === 0) return { ok: false, error: 'Indica almeno uno scaglione, uno per riga (es. “1-10: 150,00”).' };
  if (rows.length > 20) return { ok: false, error: 'Al massimo 20 scaglioni.' };
  const bands: Band[] = [];
  for (const [i, row] of rows.entries()) {
    const m = /^(\d{1,6})\s*(?:[-–]\s*(\d{1,6})?|\+)\s*:\s*(.+)$/.exec(row);
    const cents = m ? parseEuroToCents(m[3]!) : null;
    if (!m || cents === null) return { ok: false, error: `Riga ${i + 1} (“${row.slice(0, 40)}”): scrivi “da-a: importo”, per esempio “1-10: 150,00”, oppure “31+: 600,00” per l’ultimo scaglione.` };
    bands.push({ from: Number(m[1]), to: m[2] ? Number(m[2]) : null, amountCents: cents });
  }
  const errors = validateBands(bands);
  return errors.length ? { ok: false, error: errors.join(' ') } : { ok: true, bands };
}

export function bandsToText(bands: Band[] | null): string {
  if (!bands) return '';
  return bands.map((b) => `${b.from}${b.to === null ? '+' : `-${b.to}`}: ${formatEuro(b.amountCents).replace(/\s?€/, '').trim()}`).join('\n');
}

const euroField = (cents: number | null) => (cents === null ? '' : formatEuro(cents).replace(/\s?€/, '').trim());

/** One price row of a form (mode '' = no price). */
export function parsePriceRow(mode: string | undefined, amount: string | undefined, bandsText: string | undefined): { ok: true; value: PriceInput | null } | { ok: false; error: string } {
  const m = (mode ?? '').trim();
  if (m === '') return { ok: true, value: null };
  if (m !== 'fixed' && m !== 'per_unit' && m !== 'bands') return { ok: false, error: 'Scegli come si calcola il prezzo.' };
  if (m === 'bands') {
    const parsed = parseBandsText(bandsText ?? '');
    return parsed.ok ? { ok: true, value: { mode: 'bands', amountCents: null, bands: parsed.bands } } : { ok: false, error: parsed.error };
  }
  const cents = parseEuroToCents(amount ?? '');
  if (cents === null) return { ok: false, error: 'Indica l’importo in euro, per esempio 250,00.' };
  return { ok: true, value: { mode: m, amountCents: cents, bands: null } };
}

function validateListForm(f: Form): { ok: true; value: PriceListInput } | { ok: false; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const name = (f.name ?? '').trim();
  if (name.length < 3 || name.length > 120) errors.name = 'Il nome deve avere fra 3 e 120 caratteri.';
  const validFrom = (f.validFrom ?? '').trim();
  if (!isIsoDate(validFrom)) errors.validFrom = 'Indica la data di inizio validità.';
  const validTo = (f.validTo ?? '').trim();
  if (validTo && !isIsoDate(validTo)) errors.validTo = 'Data di fine non valida: lasciala vuota se il listino non ha scadenza.';
  else if (validTo && isIsoDate(validFrom) && validTo < validFrom) errors.validTo = 'La fine della validità non può precedere l’inizio.';
  const notes = (f.notes ?? '').trim();
  if (notes.length > 2000) errors.notes = 'Le note possono avere al massimo 2.000 caratteri.';
  if (Object.keys(errors).length) return { ok: false, errors };
  return { ok: true, value: { name, validFrom, validTo: validTo || null, isDemo: f.isDemo === 'on', notes: notes || null } };
}

// ------------------------------------------------------------------------------ schemas

const strings = (names: string[], maxLength = 2000) => ({
  type: 'object',
  properties: Object.fromEntries([['_csrf', { type: 'string', maxLength: 200 }], ...names.map((n) => [n, { type: 'string', maxLength }])]),
  additionalProperties: false,
});
const listParams = { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] } as const;
const priceParams = {
  type: 'object',
  properties: { id: { type: 'integer', minimum: 1 }, code: { type: 'string', pattern: '^[0-9]{1,3}[A-Za-z]?$' } },
  required: ['id', 'code'],
} as const;
const priceBody = {
  type: 'object',
  properties: { _csrf: { type: 'string', maxLength: 200 } },
  patternProperties: { '^(mode|amount|bands)_(default|[0-9]{1,6})$': { type: 'string', maxLength: 2000 } },
  additionalProperties: false,
} as const;
const classBody = {
  type: 'object',
  properties: { _csrf: { type: 'string', maxLength: 200 } },
  patternProperties: { '^(id|code|label|min|max)_[0-9]{1,2}$': { type: 'string', maxLength: 200 } },
  additionalProperties: false,
} as const;

// ------------------------------------------------------------------------------ routes

export default async function listinoRoutes(app: FastifyInstance): Promise<void> {
  const adminOnly = requireRole('sael_admin');
  const today = () => todayInItaly(app.catalogue.now());
  const comuniPopulations = async () => (await listEnti(app.db, { kind: 'comune' })).map((e) => e.population);

  // ---------------------------------------------------------------- classes
  const classesPage = async (reply: FastifyReply, rows: Form[] | null, errors: string[], notice?: string) => {
    const classes = await listEnteClasses(app.db);
    const pops = await comuniPopulations();
    const counted = classes.map((c) => ({ ...c, comuni: pops.filter((p) => classifyPopulation([c], p)).length }));
    const formRows =
      rows ??
      [...classes.map((c) => ({ id: String(c.id), code: c.code, label: c.label, min: String(c.minPopulation), max: c.maxPopulation === null ? '' : String(c.maxPopulation) })), { id: '', code: '', label: '', min: '', max: '' }];
    return reply.page('catalogue/listino-classes', {
      title: 'Catalogo SAEL – classi di enti',
      classes: counted,
      unclassified: pops.filter((p) => !classifyPopulation(classes, p)).length,
      rows: formRows.map((r, i) => ({ ...r, i, n: i + 1 })),
      errors,
      notice,
    });
  };

  app.get('/admin/catalogo/classi', { preHandler: adminOnly }, async (request, reply) => classesPage(reply, null, [], takeFlash(request)));

  app.post<{ Body: Form }>('/admin/catalogo/classi', { preHandler: adminOnly, schema: { body: classBody } }, async (request, reply) => {
    const f = request.body;
    const rows: Form[] = [];
    for (let i = 0; i < MAX_CLASSES; i++) {
      if (!(`code_${i}` in f)) continue;
      rows.push({ id: f[`id_${i}`] ?? '', code: (f[`code_${i}`] ?? '').trim(), label: (f[`label_${i}`] ?? '').trim(), min: (f[`min_${i}`] ?? '').trim(), max: (f[`max_${i}`] ?? '').trim() });
    }
    const existing = new Set((await listEnteClasses(app.db)).map((c) => c.id));
    const errors: string[] = [];
    const input: ClassInput[] = [];
    rows.forEach((r, i) => {
      const blank = !r.code && !r.label && !r.min && !r.max;
      if (blank) return; // an empty row (the one for adding, or a cleared one = delete)
      const n = i + 1;
      if (!/^[A-Z0-9]{1,4}$/.test(r.code!.toUpperCase())) errors.push(`Riga ${n}: il codice deve avere da 1 a 4 lettere o cifre.`);
      if (r.label!.length < 3 || r.label!.length > 80) errors.push(`Riga ${n}: la descrizione deve avere fra 3 e 80 caratteri.`);
      if (!/^\d{1,7}$/.test(r.min!)) errors.push(`Riga ${n}: il minimo di abitanti deve essere un numero intero.`);
      if (r.max && !/^\d{1,7}$/.test(r.max)) errors.push(`Riga ${n}: il massimo di abitanti deve essere un numero intero, o vuoto per l’ultima fascia.`);
      const id = r.id && /^\d+$/.test(r.id) && existing.has(Number(r.id)) ? Number(r.id) : undefined;
      input.push({ id, code: r.code!.toUpperCase(), label: r.label!, minPopulation: Number(r.min), maxPopulation: r.max ? Number(r.max) : null });
    });
    if (!errors.length) errors.push(...validateClassBands(input));
    if (errors.length) return classesPage(reply.code(400), rows, errors);
    try {
      await saveEnteClasses(app.db, input, auditContext(request));
    } catch (err) {
      if (err instanceof ClassInUseError) return classesPage(reply.code(409), rows, [err.message]);
      throw err;
    }
    setFlash(request, 'Classi salvate.');
    return reply.redirect('/admin/catalogo/classi', 303);
  });

  // ---------------------------------------------------------------- lists
  const listState = (l: PriceList, on: string) => (isValidOn(l, on) ? 'in vigore' : l.validFrom > on ? 'futuro' : 'scaduto');

  const listsPage = async (reply: FastifyReply, form: Form, errors: Record<string, string>, notice?: string) => {
    const on = today();
    const lists = await listPriceLists(app.db);
    const applied = listsByPriority(lists, on)[0]?.id;
    return reply.page('catalogue/listino-lists', {
      title: 'Catalogo SAEL – listini',
      lists: lists.map((l) => ({ ...l, state: listState(l, on), applied: l.id === applied })),
      form,
      errors,
      errorList: Object.values(errors),
      notice,
    });
  };

  app.get('/admin/catalogo/listini', { preHandler: adminOnly }, async (request, reply) =>
    listsPage(reply, { validFrom: `${today().slice(0, 4)}-01-01` }, {}, takeFlash(request)),
  );

  const LIST_FIELDS = ['name', 'validFrom', 'validTo', 'isDemo', 'notes'];
  app.post<{ Body: Form }>('/admin/catalogo/listini', { preHandler: adminOnly, schema: { body: strings(LIST_FIELDS) } }, async (request, reply) => {
    const result = validateListForm(request.body);
    if (!result.ok) return listsPage(reply.code(400), request.body, result.errors);
    const list = await createPriceList(app.db, result.value, auditContext(request));
    setFlash(request, `Listino “${list.name}” creato: ora inserisci i prezzi.`);
    return reply.redirect(`/admin/catalogo/listini/${list.id}`, 303);
  });

  const loadList = async (id: number) => {
    const list = await getPriceList(app.db, id);
    if (!list) throw new HttpError(404, 'Listino non trovato.');
    return list;
  };

  const listPage = async (reply: FastifyReply, list: PriceList, form: Form, errors: Record<string, string>, notice?: string) => {
    const classes = await listEnteClasses(app.db);
    const listPrices = await pricesOfList(app.db, list.id);
    const services = (await listServices(app.db)).filter((s) => s.billing !== 'free');
    const cell = (s: CatalogueService, classId: number | null) => {
      const p = listPrices.find((x) => x.serviceId === s.id && x.enteClassId === classId);
      return p ? priceText(s, { mode: p.mode, amountCents: p.amountCents, bands: parseBands(p.bands) }) : '';
    };
    return reply.page('catalogue/listino-detail', {
      title: `Listino: ${list.name}`,
      list: { ...list, state: listState(list, today()) },
      classes,
      rows: services.map((s) => ({ code: s.code, name: s.name, defaultPrice: cell(s, null), cells: classes.map((c) => ({ text: cell(s, c.id) })) })),
      form,
      errors,
      errorList: Object.values(errors),
      notice,
    });
  };

  const listForm = (l: PriceList): Form => ({ name: l.name, validFrom: l.validFrom, validTo: l.validTo ?? '', isDemo: l.isDemo ? 'on' : undefined, notes: l.notes ?? '' });

  app.get<{ Params: { id: number } }>('/admin/catalogo/listini/:id', { preHandler: adminOnly, schema: { params: listParams } }, async (request, reply) => {
    const list = await loadList(request.params.id);
    return listPage(reply, list, listForm(list), {}, takeFlash(request));
  });

  app.post<{ Params: { id: number }; Body: Form }>(
    '/admin/catalogo/listini/:id',
    { preHandler: adminOnly, schema: { params: listParams, body: strings(LIST_FIELDS) } },
    async (request, reply) => {
      const list = await loadList(request.params.id);
      const result = validateListForm(request.body);
      if (!result.ok) return listPage(reply.code(400), list, request.body, result.errors);
      await updatePriceList(app.db, list.id, result.value, auditContext(request));
      setFlash(request, 'Listino salvato.');
      return reply.redirect(`/admin/catalogo/listini/${list.id}`, 303);
    },
  );

  // ---------------------------------------------------------------- prices of one service
  const pricePage = async (reply: FastifyReply, list: PriceList, service: CatalogueService, form: Form | null, errors: Record<string, string>) => {
    const classes = await listEnteClasses(app.db);
    const listPrices = (await pricesOfList(app.db, list.id)).filter((p) => p.serviceId === service.id);
    const rowFor = (key: string, label: string, classId: number | null) => {
      const p = listPrices.find((x) => x.enteClassId === classId);
      const mode = form ? form[`mode_${key}`] ?? '' : p?.mode ?? '';
      return {
        key,
        label,
        mode,
        amount: form ? form[`amount_${key}`] ?? '' : p && p.mode !== 'bands' ? euroField(p.amountCents) : '',
        bands: form ? form[`bands_${key}`] ?? '' : p ? bandsToText(parseBands(p.bands)) : '',
        modeOptions: [{ value: '', label: 'Nessun prezzo', selected: mode === '' }, ...(['fixed', 'per_unit', 'bands'] as const).map((m) => ({ value: m, label: MODE_LABELS[m], selected: m === mode }))],
        error: errors[key],
      };
    };
    return reply.page('catalogue/listino-prices', {
      title: `Prezzi del servizio ${service.code} – ${list.name}`,
      list,
      s: service,
      rows: [rowFor('default', 'Tutti gli enti (prezzo predefinito)', null), ...classes.map((c) => rowFor(String(c.id), `Classe ${c.code} – ${c.label}`, c.id))],
      errorList: Object.values(errors),
    });
  };

  const loadPaidService = async (code: string) => {
    const service = await getServiceByCode(app.db, code.toUpperCase());
    if (!service) throw new HttpError(404, 'Servizio non trovato nel catalogo.');
    if (service.billing === 'free') throw new HttpError(409, 'Il servizio è gratuito: non ha prezzi nel listino.');
    return service;
  };

  app.get<{ Params: { id: number; code: string } }>(
    '/admin/catalogo/listini/:id/servizi/:code',
    { preHandler: adminOnly, schema: { params: priceParams } },
    async (request, reply) => pricePage(reply, await loadList(request.params.id), await loadPaidService(request.params.code), null, {}),
  );

  app.post<{ Params: { id: number; code: string }; Body: Form }>(
    '/admin/catalogo/listini/:id/servizi/:code',
    { preHandler: adminOnly, schema: { params: priceParams, body: priceBody } },
    async (request, reply) => {
      const list = await loadList(request.params.id);
      const service = await loadPaidService(request.params.code);
      const classes = await listEnteClasses(app.db);
      const f = request.body;
      const keys: [string, number | null, string][] = [['default', null, 'Prezzo predefinito'], ...classes.map((c) => [String(c.id), c.id, `Classe ${c.code}`] as [string, number, string])];
      const errors: Record<string, string> = {};
      const values: [number | null, PriceInput | null][] = [];
      for (const [key, classId, label] of keys) {
        const parsed = parsePriceRow(f[`mode_${key}`], f[`amount_${key}`], f[`bands_${key}`]);
        if (!parsed.ok) errors[key] = `${label}: ${parsed.error}`;
        else values.push([classId, parsed.value]);
      }
      if (Object.keys(errors).length) return pricePage(reply.code(400), list, service, f, errors);
      const actor = auditContext(request);
      for (const [classId, value] of values) await setPrice(app.db, list.id, service.id, classId, value, actor);
      setFlash(request, `Prezzi del servizio ${service.code} salvati.`);
      return reply.redirect(`/admin/catalogo/listini/${list.id}`, 303);
    },
  );

  // ---------------------------------------------------------------- per-ente overrides
  const OVERRIDE_FIELDS = ['enteId', 'serviceCode', 'mode', 'amount', 'bands', 'validFrom', 'validTo', 'note'];
  const overridesPage = async (request: FastifyRequest, reply: FastifyReply, form: Form, errors: Record<string, string>) => {
    const on = today();
    const overrides = (await listOverrides(app.db)).map((o) => ({
      ...o,
      text: priceText({ billing: 'annual', periodMonths: 12, unitLabel: null }, { mode: o.mode, amountCents: o.amountCents, bands: parseBands(o.bands) }).replace(/ all’anno$/, ''),
      state: isValidOn(o, on) ? 'in vigore' : o.validFrom > on ? 'futuro' : 'scaduto',
    }));
    const enti = (await listEnti(app.db, {})).map((e) => ({ id: e.id, name: e.name, selected: String(e.id) === form.enteId }));
    const services = (await listServices(app.db)).filter((s) => s.billing !== 'free').map((s) => ({ code: s.code, name: s.name, selected: s.code === form.serviceCode }));
    const modeOptions = (['fixed', 'per_unit', 'bands'] as const).map((m) => ({ value: m, label: MODE_LABELS[m], selected: m === (form.mode ?? 'fixed') }));
    return reply.page('catalogue/listino-overrides', {
      title: 'Catalogo SAEL – prezzi per ente',
      overrides,
      enti,
      services,
      modeOptions,
      form,
      errors,
      errorList: Object.values(errors),
      notice: takeFlash(request),
    });
  };

  app.get('/admin/catalogo/listini/override', { preHandler: adminOnly }, async (request, reply) => overridesPage(request, reply, { validFrom: today() }, {}));

  app.post<{ Body: Form }>('/admin/catalogo/listini/override', { preHandler: adminOnly, schema: { body: strings(OVERRIDE_FIELDS) } }, async (request, reply) => {
    const f = request.body;
    const errors: Record<string, string> = {};
    const ente = /^\d{1,9}$/.test(f.enteId ?? '') ? await getEnte(app.db, Number(f.enteId)) : undefined;
    if (!ente) errors.enteId = 'Scegli l’ente.';
    const service = f.serviceCode && /^[0-9]{1,3}[A-Za-z]?$/.test(f.serviceCode) ? await getServiceByCode(app.db, f.serviceCode.toUpperCase()) : null;
    if (!service || service.billing === 'free') errors.serviceCode = 'Scegli un servizio a listino.';
    const price = parsePriceRow(f.mode || 'fixed', f.amount, f.bands);
    if (!price.ok) errors.amount = price.error;
    const validFrom = (f.validFrom ?? '').trim();
    const validTo = (f.validTo ?? '').trim();
    if (!isIsoDate(validFrom)) errors.validFrom = 'Indica la data di inizio validità.';
    if (validTo && !isIsoDate(validTo)) errors.validTo = 'Data di fine non valida: lasciala vuota se il prezzo non ha scadenza.';
    else if (validTo && validTo < validFrom) errors.validTo = 'La fine della validità non può precedere l’inizio.';
    const note = (f.note ?? '').trim();
    if (note.length > 500) errors.note = 'La nota può avere al massimo 500 caratteri.';
    if (Object.keys(errors).length || !price.ok || !price.value || !ente || !service) return overridesPage(request, reply.code(400), f, errors);
    await createOverride(
      app.db,
      { enteId: ente.id, serviceId: service.id, ...price.value, validFrom, validTo: validTo || null, note: note || null },
      auditContext(request),
    );
    setFlash(request, `Prezzo per ${ente.name} (servizio ${service.code}) salvato.`);
    return reply.redirect('/admin/catalogo/listini/override', 303);
  });

  app.post<{ Params: { id: number }; Body: Form }>(
    '/admin/catalogo/listini/override/:id/elimina',
    { preHandler: adminOnly, schema: { params: listParams, body: strings([]) } },
    async (request, reply) => {
      const ok = await deleteOverride(app.db, request.params.id, auditContext(request));
      if (!ok) throw new HttpError(404, 'Prezzo per ente non trovato.');
      setFlash(request, 'Prezzo per ente eliminato.');
      return reply.redirect('/admin/catalogo/listini/override', 303);
    },
  );

}
