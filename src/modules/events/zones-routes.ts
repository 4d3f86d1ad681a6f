/**
 * Zones of the province, SAEL admin only:
 * - GET  /admin/zone                    the zones (demo ones flagged), how many comuni each
 * - GET  /admin/zone/nuova, POST /admin/zone           add a zone
 * - GET  /admin/zone/:id, POST /admin/zone/:id         edit (a rename moves its comuni with it)
 * - POST /admin/zone/:id/elimina        delete a zone without comuni
 * - GET/POST /admin/zone/comuni         put each of the 84 comuni in a zone (one form, all or nothing)
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireRole } from '../../plugins/auth.js';
import { HttpError } from '../../plugins/errors.js';
import { setFlash, takeFlash } from '../../plugins/sessions/flash.js';
import {
  assignZones,
  createZone,
  deleteZone,
  getZone,
  listComuniZones,
  listZones,
  updateZone,
  ZoneAssignmentError,
  ZoneInUseError,
  ZoneNameTakenError,
  type Zone,
  type ZoneInput,
} from './zones.js';

const idParams = { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] } as const;
const csrfOnly = { type: 'object', properties: { _csrf: { type: 'string' } } } as const;
const zoneBody = {
  type: 'object',
  properties: {
    _csrf: { type: 'string' },
    name: { type: 'string', maxLength: 200 },
    description: { type: 'string', maxLength: 2000 },
    sortOrder: { type: 'string', maxLength: 10 },
  },
} as const;
type ZoneForm = Partial<Record<'name' | 'description' | 'sortOrder', string>>;
/**
 * The assignment form: `z_<enteId>` = zone id, empty for "no zone", or `=` to leave a comune as
 * it is (offered for a zone name typed on the ente's page that is not in the zones list, so that
 * saving the form never erases it unasked).
 */
const assignBody = {
  type: 'object',
  properties: { _csrf: { type: 'string' } },
  patternProperties: { '^z_[0-9]{1,9}$': { type: 'string', pattern: '^(=|[0-9]{0,9})$' } },
  additionalProperties: false,
} as const;

const trimmed = (s: string | undefined) => (s ?? '').trim();

/** The form's problems, in Italian, by field; empty when it can be saved. */
export function checkZoneForm(b: ZoneForm): Record<string, string> {
  const errors: Record<string, string> = {};
  const name = trimmed(b.name);
  if (name.length < 2 || name.length > 80) errors.name = 'Scrivi il nome della zona (da 2 a 80 caratteri).';
  else if (!/[\p{L}\p{N}]/u.test(name)) errors.name = 'Il nome deve contenere almeno una lettera o una cifra.';
  if (trimmed(b.description).length > 500) errors.description = 'La descrizione può avere al massimo 500 caratteri.';
  if (trimmed(b.sortOrder) && !/^\d{1,4}$/.test(trimmed(b.sortOrder))) errors.sortOrder = 'Un numero intero da 0 a 9999.';
  return errors;
}

const zoneInput = (b: ZoneForm): ZoneInput => ({
  name: trimmed(b.name).replace(/\s+/g, ' '),
  description: trimmed(b.description) || null,
  sortOrder: Number(trimmed(b.sortOrder) || 0),
});

export default async function zonesRoutes(app: FastifyInstance): Promise<void> {
  const sael = requireRole('sael_admin');
  const actor = (request: FastifyRequest) => ({ actor: `user:${request.user!.id}`, requestId: request.id });

  const listPage = async (request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}) => {
    const zones = await listZones(app.db);
    const comuni = await listComuniZones(app.db);
    return reply.page('events/zones-list', {
      title: 'Zone della provincia',
      zones,
      anyDemo: zones.some((z) => z.isDemo),
      unassigned: comuni.filter((c) => !c.zone).length,
      // Zones typed on an ente's page that are not in this list (the ente form takes free text).
      unlisted: comuni.filter((c) => c.zone && !zones.some((z) => z.name === c.zone)).length,
      notice: takeFlash(request),
      csrf: true,
      ...extra,
    });
  };
  app.get('/admin/zone', { preHandler: sael }, async (request, reply) => listPage(request, reply));

  const formPage = (reply: FastifyReply, zone: Zone | null, extra: Record<string, unknown> = {}) =>
    reply.page('events/zones-form', {
      title: zone ? `Zona: ${zone.name}` : 'Nuova zona',
      zone,
      action: zone ? `/admin/zone/${zone.id}` : '/admin/zone',
      form: zone ? { name: zone.name, description: zone.description ?? '', sortOrder: String(zone.sortOrder) } : { sortOrder: '0' },
      csrf: true,
      ...extra,
    });

  app.get('/admin/zone/nuova', { preHandler: sael }, async (_request, reply) => formPage(reply, null));

  app.post<{ Body: ZoneForm }>('/admin/zone', { preHandler: sael, schema: { body: zoneBody } }, async (request, reply) => {
    const errors = checkZoneForm(request.body);
    if (Object.keys(errors).length) return formPage(reply.code(400), null, { errors, form: request.body });
    try {
      const z = await createZone(app.db, zoneInput(request.body), actor(request));
      setFlash(request, `Zona «${z.name}» aggiunta: assegnale i comuni.`);
    } catch (e) {
      if (e instanceof ZoneNameTakenError) return formPage(reply.code(409), null, { errors: { name: e.message }, form: request.body });
      throw e;
    }
    return reply.redirect('/admin/zone', 303);
  });

  // Registered before /admin/zone/:id (static segments win in find-my-way anyway).
  const assignPage = async (request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}) => {
    const zones = await listZones(app.db);
    const comuni = await listComuniZones(app.db);
    const wanted = (extra.wanted as Map<number, number | null | 'keep'> | undefined) ?? null;
    return reply.page('events/zones-assign', {
      title: 'Comuni e zone',
      comuni: comuni.map((c) => {
        const listed = zones.find((z) => z.name === c.zone)?.id;
        const unlisted = c.zone !== null && listed === undefined ? c.zone : null;
        const current = wanted?.has(c.id) ? wanted.get(c.id) : (listed ?? (unlisted ? 'keep' : null));
        return {
          ...c,
          shortName: c.name.replace(/^Comune di /, ''),
          options: zones.map((z) => ({ id: z.id, name: z.name, selected: z.id === current })),
          unlisted,
          keep: current === 'keep',
          none: current === null,
        };
      }),
      zonesCount: zones.length,
      notice: takeFlash(request),
      csrf: true,
      ...extra,
    });
  };
  app.get('/admin/zone/comuni', { preHandler: sael }, async (request, reply) => assignPage(request, reply));

  app.post<{ Body: Record<string, string> }>('/admin/zone/comuni', { preHandler: sael, schema: { body: assignBody } }, async (request, reply) => {
    const fields = Object.entries(request.body ?? {}).filter(([k]) => k.startsWith('z_'));
    if (!fields.length) throw new HttpError(400, 'Nessun comune nel modulo: ricarica la pagina e riprova.');
    const assignments = fields.filter(([, v]) => v !== '=').map(([k, v]) => ({ enteId: Number(k.slice(2)), zoneId: v === '' ? null : Number(v) }));
    const kept = fields.filter(([, v]) => v === '=').map(([k]): [number, 'keep'] => [Number(k.slice(2)), 'keep']);
    try {
      const n = await assignZones(app.db, assignments, actor(request));
      setFlash(request, n === 0 ? 'Nessuna modifica: ogni comune era già nella zona scelta.' : n === 1 ? 'Zona aggiornata per 1 comune.' : `Zona aggiornata per ${n} comuni.`);
    } catch (e) {
      if (e instanceof ZoneAssignmentError) {
        const wanted = new Map<number, number | null | 'keep'>([...assignments.map((a): [number, number | null] => [a.enteId, a.zoneId]), ...kept]);
        return assignPage(request, reply.code(409), { error: e.message, wanted });
      }
      throw e;
    }
    return reply.redirect('/admin/zone/comuni', 303);
  });

  const loadZone = async (id: number) => {
    const z = await getZone(app.db, id);
    if (!z) throw new HttpError(404, 'Zona non trovata.');
    return z;
  };

  app.get<{ Params: { id: number } }>('/admin/zone/:id', { preHandler: sael, schema: { params: idParams } }, async (request, reply) => {
    const z = await loadZone(request.params.id);
    const comuni = (await listComuniZones(app.db)).filter((c) => c.zone === z.name);
    return formPage(reply, z, { comuni, notice: takeFlash(request) });
  });

  app.post<{ Params: { id: number }; Body: ZoneForm }>('/admin/zone/:id', { preHandler: sael, schema: { params: idParams, body: zoneBody } }, async (request, reply) => {
    const z = await loadZone(request.params.id);
    const comuni = (await listComuniZones(app.db)).filter((c) => c.zone === z.name);
    const errors = checkZoneForm(request.body);
    if (Object.keys(errors).length) return formPage(reply.code(400), z, { errors, form: request.body, comuni });
    try {
      const r = await updateZone(app.db, z.id, zoneInput(request.body), actor(request));
      if (!r) throw new HttpError(404, 'Zona non trovata.');
      setFlash(request, r.comuniRenamed ? `Zona salvata; ${r.comuniRenamed === 1 ? '1 comune ora indica' : `${r.comuniRenamed} comuni ora indicano`} il nuovo nome.` : 'Zona salvata.');
    } catch (e) {
      if (e instanceof ZoneNameTakenError) return formPage(reply.code(409), z, { errors: { name: e.message }, form: request.body, comuni });
      throw e;
    }
    return reply.redirect('/admin/zone', 303);
  });

  app.post<{ Params: { id: number } }>('/admin/zone/:id/elimina', { preHandler: sael, schema: { params: idParams, body: csrfOnly } }, async (request, reply) => {
    const z = await loadZone(request.params.id);
    try {
      await deleteZone(app.db, z.id, actor(request));
    } catch (e) {
      if (e instanceof ZoneInUseError) return listPage(request, reply.code(409), { error: e.message });
      throw e;
    }
    setFlash(request, `Zona «${z.name}» eliminata.`);
    return reply.redirect('/admin/zone', 303);
  });
}
