/**
 * The bulk creation of the CSV import (createPositionsInTx) against the single creation
 * (createPosition): the same rows, IUVs, audit rows and outbox rows; and the fast canonical JSON of
 * the payload hash against the generic one.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import t from 'tap';
import { openDatabase, type DatabaseHandle } from '../../src/db/client.js';
import { seedDemoData } from '../../src/modules/enti/demo-seed.js';
import { listEnti, listIbans, type Ente, type PaymentService } from '../../src/modules/enti/repository.js';
import {
  canonicalJson,
  canonicalPositionJson,
  createPosition,
  createPositionsInTx,
  positionPayloadHash,
  PositionConflictError,
  type BulkPosition,
  type PositionWrite,
} from '../../src/modules/positions/repository.js';
import { preparePositionWrite, type PositionBody } from '../../src/modules/positions/service.js';
import type { ValidPosition } from '../../src/modules/positions/validation.js';
import { tempDir } from '../helpers.js';
import { inDays } from './fixtures.js';

async function open(t: Parameters<typeof tempDir>[0]): Promise<{ h: DatabaseHandle; ente: Ente; province: Ente }> {
  const h = openDatabase(path.join(tempDir(t), 'db.sqlite'));
  t.teardown(() => h.close());
  await seedDemoData(h.db);
  const ente = (await listEnti(h.db, { q: 'Campobasso', kind: 'comune' }))[0]!;
  const province = (await listEnti(h.db, { q: 'Provincia di Campobasso' }))[0]!;
  return { h, ente, province };
}

/** A mix of shapes: single payment, installment plan with a second beneficiary, metadata, digital stamp, odd text. */
function bodies(province: Ente, provinceIban: string): PositionBody[] {
  const transfer = (amountCents: number, extra: Record<string, unknown> = {}) => ({ amountCents, remittanceInformation: 'Mensa', taxonomyCode: '9/0201133IM/', ...extra });
  return [
    {
      iupd: 'BULK-1',
      serviceCode: 'MENSA',
      debtor: { type: 'F', fiscalCode: 'RSSMRA85T10A562S', fullName: 'Mario Rossi' },
      description: 'Mensa scolastica',
      paymentOptions: [{ amountCents: 2550, dueDate: inDays(30), transfers: [transfer(2550)] }],
    },
    {
      iupd: 'BULK-2',
      serviceCode: 'TARI',
      debtor: { type: 'F', fiscalCode: 'RSSMRA85T10A562S', fullName: 'Niccolò D’Àgostino "Nico" \\ 😀', streetName: 'Via Roma', civicNumber: '1', postalCode: '86100', city: 'Campobasso', province: 'CB', email: 'a@example.invalid' },
      description: 'TARI 2026 – tassa sui rifiuti',
      validityDate: inDays(1),
      paymentOptions: [
        { isInstallment: false, description: 'Unica soluzione', amountCents: 30000, dueDate: inDays(30), retentionDate: inDays(400), transfers: [transfer(28500, { metadata: [{ key: 'anno', value: '2026' }, { key: 'k"2', value: 'v;2' }] }), transfer(1500, { fiscalCodePA: province.fiscalCode, iban: provinceIban })] },
        ...[1, 2, 3].map((n) => ({ isInstallment: true, installmentNumber: n, description: `Rata ${n} di 3`, amountCents: 10000, dueDate: inDays(30 * n), transfers: [transfer(9500), transfer(500, { fiscalCodePA: province.fiscalCode, iban: provinceIban })] })),
      ],
    },
    {
      iupd: 'BULK-3',
      serviceCode: 'DIRITTI',
      debtor: { type: 'G', fiscalCode: '00071560700', fullName: 'Ditta Srl' },
      description: 'Diritti di segreteria con marca da bollo',
      paymentOptions: [{ amountCents: 1600, dueDate: inDays(10), transfers: [transfer(1600, { stamp: { hashDocument: Buffer.alloc(32, 7).toString('base64'), stampType: '01', provincialResidence: 'CB' } })] }],
    },
  ];
}

async function writesFor(h: DatabaseHandle, ente: Ente, province: Ente): Promise<{ service: PaymentService; write: PositionWrite }[]> {
  const provinceIban = (await listIbans(h.db, province.id))[0]!.iban;
  const writes: { service: PaymentService; write: PositionWrite }[] = [];
  for (const body of bodies(province, provinceIban)) {
    const prepared = await preparePositionWrite(h.db, ente, body);
    if (!prepared.ok) throw new Error(JSON.stringify(prepared.errors));
    writes.push({ service: prepared.service, write: prepared.write });
  }
  return writes;
}

/** What both paths must write, without ids and timestamps. */
function snapshot(h: DatabaseHandle) {
  const all = (sql: string) => h.sqlite.prepare(sql).all();
  return {
    positions: all(`SELECT ente_id, service_id, iupd, debtor_type, debtor_fiscal_code, debtor_name, debtor_street, debtor_civic, debtor_postal_code,
      debtor_city, debtor_province, debtor_country, debtor_email, description, validity_date, switch_to_expired, status, payload_hash, version,
      published_at IS NOT NULL AS published FROM positions ORDER BY id`),
    options: all(`SELECT p.iupd, o.ordinal, o.kind, o.plan, o.installment_number, o.installment_count, o.description, o.amount_cents, o.due_date,
      o.retention_date, o.iuv, o.notice_number, o.status FROM payment_options o JOIN positions p ON p.id = o.position_id ORDER BY o.id`),
    transfers: all(`SELECT o.iuv, t.id_transfer, t.fiscal_code_pa, t.amount_cents, t.iban, t.postal_iban, t.stamp_hash_document, t.stamp_type,
      t.stamp_provincial_residence, t.remittance_information, t.taxonomy_code, t.metadata FROM transfers t JOIN payment_options o ON o.id = t.option_id ORDER BY t.id`),
    audit: all(`SELECT a.actor, a.action, a.entity, p.iupd, a.ente_id, a.before, a.after, a.request_id FROM audit_log a
      JOIN positions p ON a.entity = 'position' AND p.id = CAST(a.entity_id AS INTEGER) ORDER BY a.id`),
    outbox: all('SELECT ente_id, iuv, payload, status, attempts FROM aca_outbox ORDER BY id'),
  };
}

t.test('bulk creation writes what one creation at a time writes', async (t) => {
  const by = { actor: 'user:7', requestId: 'job:3' };
  const single = await open(t);
  for (const { service, write } of await writesFor(single.h, single.ente, single.province)) {
    await createPosition(single.h.db, single.ente, service, write, { publish: true }, by);
  }
  const bulk = await open(t);
  const items: BulkPosition[] = await writesFor(bulk.h, bulk.ente, bulk.province);
  const outcomes = await bulk.h.db.transaction(async (tx) => await createPositionsInTx(tx, bulk.ente, items, { publish: true }, by), { behavior: 'immediate' });
  t.same(outcomes, ['created', 'created', 'created']);
  const a = snapshot(single.h);
  const b = snapshot(bulk.h);
  t.equal(b.options.length, 6);
  t.equal(b.outbox.length, 6, 'one outbox row per option');
  t.equal(b.audit.length, 3, 'one audit row per position');
  t.same(b, a);
  t.same(
    (b.audit as { iupd: string; after: string }[]).map((r) => [r.iupd, (JSON.parse(r.after) as { iupd: string }).iupd]),
    [['BULK-1', 'BULK-1'], ['BULK-2', 'BULK-2'], ['BULK-3', 'BULK-3']],
    'every audit row names its own position',
  );
});

t.test('bulk creation: existing iupds are unchanged or conflicts, and a conflict writes nothing', async (t) => {
  const { h, ente, province } = await open(t);
  const [first, second, third] = await writesFor(h, ente, province) as [BulkPosition, BulkPosition, BulkPosition];
  const by = { actor: 'test' };
  await createPosition(h.db, ente, first.service, first.write, { publish: true }, by);
  const changed: BulkPosition = { service: second.service, write: { ...second.write, value: { ...second.write.value, iupd: 'BULK-1' } } };
  const rows = () => snapshot(h);
  const before = rows();
  const outcomes = await h.db.transaction(
      async (tx) => await createPositionsInTx(tx, ente, [first, changed, third, third, { ...third, write: { ...third.write, switchToExpired: true } }], { publish: true }, by),
      { behavior: 'immediate' },
    );
  t.same(outcomes, ['unchanged', 'conflict', 'created', 'unchanged', 'conflict'], 'an iupd twice in one batch meets its first copy');
  const after = rows();
  t.equal(after.positions.length, before.positions.length + 1, 'only BULK-3 is new');
  t.equal(after.audit.length, before.audit.length + 1);
  t.equal(after.outbox.length, before.outbox.length + 1);
  // The single creation agrees on both outcomes.
  t.same((await createPosition(h.db, ente, first.service, first.write, { publish: true }, by)).created, false);
  await t.rejects(createPosition(h.db, ente, changed.service, changed.write, { publish: true }, by), PositionConflictError);
});

t.test('bulk creation: IUVs follow the ente counter in input order, drafts write no outbox rows', async (t) => {
  const { h, ente, province } = await open(t);
  const items = await writesFor(h, ente, province);
  const outcomes = await h.db.transaction(async (tx) => await createPositionsInTx(tx, ente, items, { publish: false }, { actor: 'test' }), { behavior: 'immediate' });
  t.same(outcomes, ['created', 'created', 'created']);
  const bases = (h.sqlite.prepare('SELECT iuv FROM payment_options ORDER BY id').all() as { iuv: string }[]).map((r) => Number(r.iuv.slice(2, 15)));
  t.same(bases, [1, 2, 3, 4, 5, 6]);
  t.equal((h.sqlite.prepare("SELECT count(*) AS n FROM positions WHERE status = 'draft' AND published_at IS NULL").get() as { n: number }).n, 3);
  t.equal((h.sqlite.prepare('SELECT count(*) AS n FROM aca_outbox').get() as { n: number }).n, 0);
  t.equal((h.sqlite.prepare('SELECT next_value FROM iuv_sequences WHERE ente_id = ?').get(ente.id) as { next_value: number }).next_value, 7);
});

t.test('the canonical JSON of the payload hash is the generic sorted-keys JSON', async (t) => {
  const { h, ente, province } = await open(t);
  const values: ValidPosition[] = (await writesFor(h, ente, province)).map((w) => w.write.value);
  const odd = structuredClone(values[1]!);
  odd.description = 'lone surrogate \ud800 and \u2028 line separator, tab\t, quote "';
  odd.iupd = null;
  values.push(odd);
  for (const v of values) {
    for (const [serviceCode, publish, switchToExpired] of [['MENSA', true, false], ['TARI', false, true]] as const) {
      const generic = canonicalJson({ serviceCode, publish, switchToExpired, ...v });
      t.equal(canonicalPositionJson(serviceCode, publish, switchToExpired, v), generic, `${v.iupd} ${serviceCode}`);
      t.equal(
        positionPayloadHash(serviceCode, { value: v, switchToExpired }, publish),
        crypto.createHash('sha256').update(generic).digest('hex'),
        'same hash as before: positions stored by earlier versions stay idempotent',
      );
    }
  }
  // Members that are undefined are left out, as JSON.stringify does.
  const partial = { ...values[0]!, validityDate: undefined } as unknown as ValidPosition;
  t.equal(canonicalPositionJson('MENSA', true, false, partial), canonicalJson({ serviceCode: 'MENSA', publish: true, switchToExpired: false, ...partial }));
});
