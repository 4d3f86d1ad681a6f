/**
 * Demo data for an empty database in demo mode: the Provincia di Campobasso, its 84 comuni (from
 * the ISTAT list), six member comuni with IBANs and payment services (the school canteen, MENSA,
 * also payable at a PSP without a notice), and one demo user per role.
 * Codes are demo values of valid format and the enti are flagged `is_demo`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyBaseLogger } from 'fastify';
import { count } from 'drizzle-orm';
import { parse } from 'csv-parse/sync';
import type { Db } from '../../db/client.js';
import { numericFiscalCodeFromBase, personalCheckChar } from '../../domain/fiscal-code.js';
import { ibanCheckDigits } from '../../domain/iban.js';
import { recordAudit } from '../../plugins/audit/index.js';
import { roleGrants, users, type Role } from '../users/schema.js';
import { enteIbans, enti, paymentServices } from './schema.js';

const CSV_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'seed-data', 'comuni-provincia-campobasso.csv');
const ACTOR = { actor: 'system:demo-seed' };

/** Demo fiscal code of an ente: 9 + ISTAT code (6) + 000 + check digit. */
export function demoFiscalCode(istatCode: string): string {
  return numericFiscalCodeFromBase(`9${istatCode}000`);
}

function demoIban(abi: string, cab: string, account: string): string {
  const bban = `X${abi}${cab}${account.padStart(12, '0')}`;
  return `IT${ibanCheckDigits('IT', bban)}${bban}`;
}

interface MemberSpec {
  istat: string;
  zone: string;
  slogan: string;
  postal: boolean;
  /** Demo contacts (the enti are flagged is_demo): not the real town hall's. Migration 0010 gives
   * the same values to demo databases seeded before it. */
  address: string;
  phone: string;
}

/** Member comuni and the zone of the province each belongs to. */
const MEMBERS: MemberSpec[] = [
  { istat: '070006', zone: 'Area urbana di Campobasso', slogan: 'Il capoluogo del Molise', postal: true, address: 'Piazza del Municipio 1, 86100 Campobasso', phone: '0874 000 001' },
  { istat: '070078', zone: 'Basso Molise – costa', slogan: 'La città sul mare', postal: true, address: 'Piazza del Municipio 1, 86039 Termoli', phone: '0875 000 002' },
  { istat: '070003', zone: 'Matese', slogan: 'Alle sorgenti del Biferno', postal: false, address: 'Piazza del Municipio 1, 86021 Bojano', phone: '0874 000 003' },
  { istat: '070031', zone: 'Basso Molise', slogan: 'Città frentana', postal: false, address: 'Piazza del Municipio 1, 86035 Larino', phone: '0874 000 004' },
  { istat: '070057', zone: 'Fortore', slogan: 'Porta del Fortore', postal: false, address: 'Piazza del Municipio 1, 86016 Riccia', phone: '0874 000 005' },
  { istat: '070081', zone: 'Alto Molise – Trigno', slogan: 'Sulla valle del Trigno', postal: true, address: 'Piazza del Municipio 1, 86029 Trivento', phone: '0874 000 006' },
];

const SERVICES = [
  { code: 'TARI', name: 'TARI – Tassa sui rifiuti', taxonomyCode: '9/0101108TS/', spontaneous: false, amountMode: 'free' as const },
  // Payable at a PSP too (paDemandPaymentNotice): demo idServizio in pagoPA's services catalogue.
  { code: 'MENSA', name: 'Mensa scolastica', taxonomyCode: '9/0201133IM/', spontaneous: true, amountMode: 'free' as const, min: 100, max: 50000, psp: '00001' },
  { code: 'CUP', name: 'Canone unico patrimoniale', taxonomyCode: '9/0101109IM/', spontaneous: false, amountMode: 'free' as const },
  { code: 'DIRITTI', name: 'Diritti di segreteria', taxonomyCode: '9/0201102IM/', spontaneous: true, amountMode: 'fixed' as const, fixed: 1000 },
  { code: 'SANZIONI', name: 'Sanzioni al codice della strada', taxonomyCode: '9/0301101SP/', spontaneous: false, amountMode: 'free' as const },
];

/** Demo users: [first 15 CF characters, name, family name, role, ente ISTAT code or null]. */
const DEMO_USERS: [string, string, string, Role, string | null][] = [
  ['RSSMRA80A01B519', 'Mario', 'Rossi', 'sael_admin', null],
  ['BNCLRA85M41B519', 'Laura', 'Bianchi', 'helpdesk', null],
  ['VRDGPP75C12B519', 'Giuseppe', 'Verdi', 'operator', '070006'],
  ['SPSNNA70D50L113', 'Anna', 'Esposito', 'ente_admin', '070078'],
  ['CLMFNC90E15L113', 'Francesco', 'Colombo', 'operator', '070078'],
  ['MRTSRA92H45B519', 'Sara', 'Martino', 'redazione', '070006'],
];

/** Demo citizens (no role): they log in with the test IdP and own demo positions. */
const DEMO_CITIZENS: [string, string, string, string][] = [
  ['FRRLCU88E52B519', 'Lucia', 'Ferrante', 'lucia.ferrante@example.org'],
  ['DRINTN65L03L113', 'Antonio', 'Di Iorio', 'antonio.diiorio@example.org'],
  ['CSTGLI99T61B519', 'Giulia', 'Castelli', 'giulia.castelli@example.org'],
];

export function demoCitizenProfiles(): { fiscalCode: string; name: string; familyName: string; email: string }[] {
  return DEMO_CITIZENS.map(([first15, name, familyName, email]) => ({ fiscalCode: first15 + personalCheckChar(first15), name, familyName, email }));
}

export function demoUserFiscalCodes(): { fiscalCode: string; role: Role; enteIstat: string | null }[] {
  return DEMO_USERS.map(([first15, , , role, enteIstat]) => ({ fiscalCode: first15 + personalCheckChar(first15), role, enteIstat }));
}

/** Seeds an empty database; does nothing when any ente exists. Returns whether it seeded. */
export async function seedDemoData(db: Db, log?: Pick<FastifyBaseLogger, 'info'>): Promise<boolean> {
  const existing = (await db.select({ n: count() }).from(enti).limit(1))[0];
  if (existing && existing.n > 0) return false;
  const rows = parse(fs.readFileSync(CSV_FILE), { columns: true, skip_empty_lines: true }) as {
    codice_istat: string;
    nome: string;
    codice_catastale: string;
    popolazione: string;
  }[];

  await db.transaction(async (tx) => {
        const province = (await tx
              .insert(enti)
              .values({
                kind: 'provincia',
                name: 'Provincia di Campobasso',
                fiscalCode: demoFiscalCode('070000'),
                ipaCode: 'p_cb',
                segregationCode: '01',
                slogan: 'Servizio Assistenza Enti Locali (S.A.E.L.)',
                zone: null,
                address: 'Via Roma 47, 86100 Campobasso',
                phone: '0874 000 000',
                email: 'sael@example.invalid',
                pec: 'sael@pec.example.invalid',
                officeHours: 'Lunedì–venerdì 9:00–13:00; martedì e giovedì anche 15:30–17:30',
                member: true,
                isDemo: true,
              })
              .returning())[0]!;
        await tx.insert(enteIbans).values({ enteId: province.id, iban: demoIban('01005', '03800', '000000070000'), kind: 'bank', label: 'Tesoreria provinciale (demo)' });

        const idByIstat = new Map<string, number>();
        for (const r of rows) {
          const member = MEMBERS.find((m) => m.istat === r.codice_istat);
          const ente = (await tx
                  .insert(enti)
                  .values({
                    kind: 'comune',
                    name: `Comune di ${r.nome}`,
                    fiscalCode: demoFiscalCode(r.codice_istat),
                    ipaCode: `c_${r.codice_catastale.toLowerCase()}`,
                    istatCode: r.codice_istat,
                    cadastralCode: r.codice_catastale,
                    population: Number(r.popolazione),
                    segregationCode: '01',
                    zone: member?.zone ?? null,
                    slogan: member?.slogan ?? null,
                    address: member?.address ?? null,
                    phone: member?.phone ?? null,
                    email: member ? `tributi@comune-${r.codice_catastale.toLowerCase()}.example.invalid` : null,
                    pec: member ? `protocollo@pec.comune-${r.codice_catastale.toLowerCase()}.example.invalid` : null,
                    officeHours: member ? 'Lunedì, mercoledì e venerdì 9:00–12:00' : null,
                    member: Boolean(member),
                    isDemo: true,
                  })
                  .returning({ id: enti.id }))[0]!;
          idByIstat.set(r.codice_istat, ente.id);
          if (!member) continue;
          const bank = (await tx
                  .insert(enteIbans)
                  .values({ enteId: ente.id, iban: demoIban('03069', '03800', r.codice_istat), kind: 'bank', label: 'Tesoreria comunale (demo)' })
                  .returning({ id: enteIbans.id }))[0]!;
          if (member.postal) {
            await tx.insert(enteIbans)
                        .values({ enteId: ente.id, iban: demoIban('07601', '03800', `1${r.codice_istat}`), kind: 'postal', label: 'Conto corrente postale (demo)' });
          }
          for (const s of SERVICES) {
            await tx.insert(paymentServices)
                        .values({
                          enteId: ente.id,
                          code: s.code,
                          name: s.name,
                          taxonomyCode: s.taxonomyCode,
                          defaultIbanId: bank.id,
                          spontaneous: s.spontaneous,
                          amountMode: s.amountMode,
                          fixedAmountCents: 'fixed' in s ? s.fixed : null,
                          minAmountCents: 'min' in s ? s.min : null,
                          maxAmountCents: 'max' in s ? s.max : null,
                          pspServiceId: 'psp' in s ? s.psp : null,
                        });
          }
        }

        for (const [first15, name, familyName, role, enteIstat] of DEMO_USERS) {
          const user = (await tx
                  .insert(users)
                  .values({ fiscalCode: first15 + personalCheckChar(first15), name, familyName })
                  .returning({ id: users.id }))[0]!;
          await tx.insert(roleGrants).values({ userId: user.id, role, enteId: enteIstat ? idByIstat.get(enteIstat)! : null });
        }
        await recordAudit(tx, { ...ACTOR, action: 'seed', entity: 'database', entityId: 'demo', after: { enti: rows.length + 1, users: DEMO_USERS.length } });
      });
  log?.info({ comuni: rows.length }, 'demo data seeded');
  return true;
}
