/**
 * The conservazione profiles for the SAEL responsabile della conservazione:
 * `/admin/conservazione/profili` (list) and `/admin/conservazione/profili/:code` (edit form:
 * formats one per line, required Allegato 5 metadata, retention, submitters, signature, active).
 * sael_admin edits; helpdesk reads (the form is shown read-only). Every save is audited
 * (audit_log before/after) and logged as a 'profile' event of the conservazione log.
 */
import { and, desc, eq } from 'drizzle-orm';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { auditContext } from '../../plugins/audit/index.js';
import { hasRole, requireRole } from '../../plugins/auth.js';
import { HttpError } from '../../plugins/errors.js';
import { setFlash, takeFlash } from '../../plugins/sessions/flash.js';
import { auditLog } from '../../plugins/audit/schema.js';
import type { ProfileFormat } from './checks/esito.js';
import { KNOWN_METADATA } from './checks/metadata.js';
import { getProfileByCode, listProfiles, updateProfile, type ParsedProfile, type ProfileUpdate } from './profiles.js';
import { FORMAT_SUITABILITY, SUBMITTERS, type FormatSuitability, type Submitter } from './schema.js';

/** Allegato 5 names a profile may require: the names the metadata check knows (checks/metadata.ts). */
export const METADATA_NAMES = KNOWN_METADATA;

export const SUBMITTER_LABELS: Record<Submitter, string> = { system: 'Piattaforma (versamento automatico)', ente: 'Ente (API e back office)', sael: 'S.A.E.L.' };

type Form = Partial<Record<'name' | 'tipologiaDocumentale' | 'description' | 'formats' | 'requiredMetadata' | 'retentionYears' | 'signatureRequired' | 'active' | '_csrf', string>> & {
  submitters?: string | string[];
};

const formatLine = (f: ProfileFormat) => [f.mime, f.label, f.suitability, f.signed].filter(Boolean).join(' | ');

function formOf(p: ParsedProfile): Form {
  return {
    name: p.name,
    tipologiaDocumentale: p.tipologiaDocumentale,
    description: p.description,
    formats: p.formats.map(formatLine).join('\n'),
    requiredMetadata: p.requiredMetadata.join('\n'),
    retentionYears: p.retentionYears === null ? '' : String(p.retentionYears),
    submitters: p.submitters,
    signatureRequired: p.signatureRequired ? 'on' : undefined,
    active: p.active ? 'on' : undefined,
  };
}

/** Validates the edit form: Italian messages per field, or the update. */
export function validateProfileForm(f: Form): { ok: true; value: ProfileUpdate } | { ok: false; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const t = (s: string | undefined) => (s ?? '').trim();
  if (!t(f.name) || t(f.name).length > 150) errors.name = 'Il nome è obbligatorio (al massimo 150 caratteri).';
  if (!t(f.tipologiaDocumentale) || t(f.tipologiaDocumentale).length > 150) errors.tipologiaDocumentale = 'La tipologia documentale è obbligatoria (al massimo 150 caratteri).';
  if (t(f.description).length > 2000) errors.description = 'La descrizione può avere al massimo 2000 caratteri.';
  const formats: ProfileFormat[] = [];
  const lines = t(f.formats)
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  for (const [i, line] of lines.entries()) {
    const [mime = '', label = '', suitability = '', signed = ''] = line.split('|').map((s) => s.trim());
    if (!/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i.test(mime) || !label || !(FORMAT_SUITABILITY as readonly string[]).includes(suitability) || (signed && !['cades', 'pades'].includes(signed))) {
      errors.formats = `Riga ${i + 1} dei formati non valida: scrivi «tipo MIME | nome | IDONEO, GESTITO o DEPRECATO | cades o pades (facoltativo)».`;
      break;
    }
    formats.push({ mime: mime.toLowerCase(), label, suitability: suitability as FormatSuitability, ...(signed ? { signed: signed as 'cades' | 'pades' } : {}) });
  }
  if (!errors.formats && formats.length === 0) errors.formats = 'Indica almeno un formato ammesso.';
  const required = [
    ...new Set(
      t(f.requiredMetadata)
        .split(/[\s,]+/)
        .filter(Boolean),
    ),
  ];
  const unknown = required.filter((n) => !(METADATA_NAMES as readonly string[]).includes(n));
  if (unknown.length) errors.requiredMetadata = `Metadati sconosciuti: ${unknown.join(', ')}. Usa i nomi dell’Allegato 5 (${METADATA_NAMES.join(', ')}).`;
  let retentionYears: number | null = null;
  if (t(f.retentionYears)) {
    if (!/^\d{1,4}$/.test(t(f.retentionYears)) || Number(t(f.retentionYears)) < 1) errors.retentionYears = 'Il tempo di conservazione è un numero di anni da 1 a 9999 (vuoto = illimitato).';
    else retentionYears = Number(t(f.retentionYears));
  }
  const submitters = (Array.isArray(f.submitters) ? f.submitters : f.submitters ? [f.submitters] : []).filter((s): s is Submitter => (SUBMITTERS as readonly string[]).includes(s));
  if (submitters.length === 0) errors.submitters = 'Scegli almeno un soggetto che può versare con questo profilo.';
  if (Object.keys(errors).length) return { ok: false, errors };
  return {
    ok: true,
    value: {
      name: t(f.name),
      tipologiaDocumentale: t(f.tipologiaDocumentale),
      description: t(f.description),
      formats,
      requiredMetadata: required,
      retentionYears,
      submitters: SUBMITTERS.filter((s) => submitters.includes(s)),
      signatureRequired: f.signatureRequired === 'on',
      active: f.active === 'on',
    },
  };
}

const FIELD_LABELS: Record<string, string> = {
  name: 'Nome',
  tipologiaDocumentale: 'Tipologia documentale',
  description: 'Descrizione',
  formats: 'Formati',
  requiredMetadata: 'Metadati obbligatori',
  retentionYears: 'Tempo di conservazione (anni)',
  submitters: 'Chi può versare',
  signatureRequired: 'Firma obbligatoria',
  active: 'Attivo',
};

function historyValue(field: string, v: unknown): string {
  if (v === null || v === undefined) return field === 'retentionYears' ? 'illimitato' : '—';
  if (typeof v === 'boolean') return v ? 'sì' : 'no';
  if (field === 'formats' && Array.isArray(v)) return (v as ProfileFormat[]).map(formatLine).join('; ');
  if (Array.isArray(v)) return v.join(', ');
  return String(v);
}

const retentionText = (y: number | null) => (y === null ? 'illimitato' : y === 1 ? '1 anno' : `${y} anni`);

export default async function routes(app: FastifyInstance): Promise<void> {
  const readers = requireRole(['sael_admin', 'helpdesk']);
  const adminOnly = requireRole('sael_admin');
  const codeParam = { type: 'object', properties: { code: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{1,49}$' } }, required: ['code'] } as const;

  app.get('/admin/conservazione/profili', { preHandler: readers }, async (request, reply) => {
    const profiles = (await listProfiles(app.db)).map((p) => ({
      ...p,
      retention: retentionText(p.retentionYears),
      formatsText: [...new Set(p.formats.map((f) => `${f.label} (${f.suitability})`))].join(', '),
      submittersText: p.submitters.map((s) => SUBMITTER_LABELS[s]).join(', '),
    }));
    return reply.page('conservazione/profiles-list', { title: 'Conservazione – profili', profiles, notice: takeFlash(request), canEdit: hasRole(request.user, 'sael_admin') });
  });

  const renderEdit = async (request: FastifyRequest, reply: FastifyReply, p: ParsedProfile, form: Form, errors: Record<string, string> = {}, notice?: string) => {
    const rows = await app.db
          .select()
          .from(auditLog)
          .where(and(eq(auditLog.entity, 'cons_profile'), eq(auditLog.entityId, String(p.id))))
          .orderBy(desc(auditLog.id))
          .limit(30);
    const history = rows.map((r) => {
      const before = (r.before ? JSON.parse(r.before) : {}) as Record<string, unknown>;
      const after = (r.after ? JSON.parse(r.after) : {}) as Record<string, unknown>;
      const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])];
      return { at: r.at, actor: r.actor, changes: fields.map((f) => ({ label: FIELD_LABELS[f] ?? f, before: historyValue(f, before[f]), after: historyValue(f, after[f]) })) };
    });
    const chosen = Array.isArray(form.submitters) ? form.submitters : form.submitters ? [form.submitters] : [];
    return reply.page('conservazione/profiles-edit', {
      title: `Profilo di conservazione ${p.code}`,
      p,
      form,
      errors,
      errorList: Object.values(errors),
      notice,
      history,
      canEdit: hasRole(request.user, 'sael_admin'),
      submitterOptions: SUBMITTERS.map((s) => ({ value: s, label: SUBMITTER_LABELS[s], checked: chosen.includes(s) })),
      metadataNames: METADATA_NAMES.join(', '),
      action: `/admin/conservazione/profili/${p.code}`,
    });
  };

  const load = async (code: string) => {
    const p = await getProfileByCode(app.db, code);
    if (!p) throw new HttpError(404, 'Profilo di conservazione non trovato.');
    return p;
  };

  app.get<{ Params: { code: string } }>('/admin/conservazione/profili/:code', { preHandler: readers, schema: { params: codeParam } }, async (request, reply) => {
    const p = await load(request.params.code);
    return renderEdit(request, reply, p, formOf(p), {}, takeFlash(request));
  });

  const str = { type: 'string', maxLength: 10000 } as const;
  app.post<{ Params: { code: string }; Body: Form }>(
    '/admin/conservazione/profili/:code',
    {
      preHandler: adminOnly,
      schema: {
        params: codeParam,
        body: {
          type: 'object',
          properties: {
            _csrf: { type: 'string', maxLength: 200 },
            name: str,
            tipologiaDocumentale: str,
            description: str,
            formats: str,
            requiredMetadata: str,
            retentionYears: str,
            signatureRequired: str,
            active: str,
            submitters: { anyOf: [{ type: 'string', maxLength: 20 }, { type: 'array', maxItems: 10, items: { type: 'string', maxLength: 20 } }] },
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const p = await load(request.params.code);
      const result = validateProfileForm(request.body);
      if (!result.ok) return renderEdit(request, reply.code(400), p, request.body, result.errors);
      await updateProfile(app.db, p.code, result.value, auditContext(request), app.conservazione.now());
      setFlash(request, `Profilo ${p.code} salvato.`);
      return reply.redirect(`/admin/conservazione/profili/${p.code}`, 303);
    },
  );
}
