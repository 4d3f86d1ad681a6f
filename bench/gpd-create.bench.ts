/**
 * GPD create (`POST /gpd/organizations/{fc}/debtpositions?toPublish=true`, the client brings its
 * IUVs) against `/api/v1` create (`POST /api/v1/positions`, the platform issues them) of the same
 * positions — same debtor, options, amounts, due dates and transfers, published — in the same run
 * and the same app, through the whole request path (routing, key, schema validation, the shared
 * write path, the answer). Rounds alternate the two faces so the machine's load falls on both.
 * Goal: GPD throughput ≥ 0.8 of /api/v1's.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { listEnti, listIbans } from '../src/modules/enti/repository.js';
import { createApiKey } from '../src/modules/users/repository.js';
import { buildIuv } from '../src/modules/positions/numbers.js';
import { report, timeIt } from './lib.js';

const PER_ROUND = Number(process.env.BENCH_GPD_POSITIONS ?? 300);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 4));

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sael-bench-gpd-'));
const app = await buildApp(loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '100000000', PAGOPA_FDR_INTERVAL_MINUTES: '0' }), {
  logger: false,
  backgroundWorkers: false,
});
const ente = (await listEnti(app.db, { q: 'Campobasso', kind: 'comune' }))[0]!;
const province = (await listEnti(app.db, { q: 'Provincia di Campobasso' }))[0]!;
const provinceIban = (await listIbans(app.db, province.id))[0]!.iban;
const key = (await createApiKey(app.db, ente.id, 'bench', { actor: 'bench' })).key;
const due = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

/** The content both faces send: a TARI split with the province, single payment + 2 installments. */
const OPTIONS = [
  { amount: 30000, tefa: 1500, days: 30, partial: false, label: 'TARI unica soluzione' },
  { amount: 15000, tefa: 750, days: 30, partial: true, label: 'TARI rata 1 di 2' },
  { amount: 15000, tefa: 750, days: 60, partial: true, label: 'TARI rata 2 di 2' },
];
const debtor = (i: number) => ({ fullName: `Debitore ${i}`, streetName: 'Via Roma', civicNumber: '1', postalCode: '86100', city: 'Campobasso', province: 'CB' });

function v1Body(i: number) {
  return {
    iupd: `V1-${i}`,
    serviceCode: 'TARI',
    debtor: { type: 'F', fiscalCode: 'RSSMRA85T10A562S', ...debtor(i) },
    description: OPTIONS[0]!.label,
    paymentOptions: OPTIONS.map((o) => ({
      isInstallment: o.partial,
      description: o.label,
      amountCents: o.amount,
      dueDate: due(o.days),
      transfers: [
        { idTransfer: 1, amountCents: o.amount - o.tefa, remittanceInformation: o.label, taxonomyCode: '9/0101108TS/' },
        { idTransfer: 2, fiscalCodePA: province.fiscalCode, iban: provinceIban, amountCents: o.tefa, remittanceInformation: `TEFA ${o.label}`, taxonomyCode: '9/0201101IM/' },
      ],
    })),
  };
}

let nextBase = 5_000_000_000_000;
function gpdBody(i: number) {
  return {
    iupd: `GPD-${i}`,
    type: 'F',
    fiscalCode: 'RSSMRA85T10A562S',
    ...debtor(i),
    switchToExpired: false,
    companyName: ente.name,
    paymentOption: OPTIONS.map((o) => ({
      iuv: buildIuv(ente.segregationCode, nextBase++),
      amount: o.amount,
      description: o.label,
      isPartialPayment: o.partial,
      dueDate: `${due(o.days)}T23:59:59.999Z`,
      transfer: [
        { idTransfer: '1', amount: o.amount - o.tefa, organizationFiscalCode: ente.fiscalCode, remittanceInformation: o.label, category: '9/0101108TS/' },
        { idTransfer: '2', amount: o.tefa, organizationFiscalCode: province.fiscalCode, remittanceInformation: `TEFA ${o.label}`, category: '9/0201101IM/', iban: provinceIban },
      ],
    })),
  };
}

const faces = {
  v1: { url: '/api/v1/positions', headers: { authorization: `Bearer ${key}` }, body: v1Body, created: 201 },
  gpd: { url: `/gpd/organizations/${ente.fiscalCode}/debtpositions?toPublish=true`, headers: { 'ocp-apim-subscription-key': key }, body: gpdBody, created: 201 },
} as const;

let seq = 0;
async function round(face: keyof typeof faces): Promise<number> {
  const f = faces[face];
  const bodies = Array.from({ length: PER_ROUND }, () => JSON.stringify(f.body(seq++)));
  const { ms } = await timeIt(async () => {
    for (const payload of bodies) {
      const res = await app.inject({ method: 'POST', url: f.url, headers: { ...f.headers, 'content-type': 'application/json' }, payload });
      if (res.statusCode !== f.created) throw new Error(`${face} create: ${res.statusCode} ${res.body.slice(0, 300)}`);
    }
  });
  return ms;
}

// Warm-up (schemas compiled, statements prepared), then alternating measured rounds.
await round('v1');
await round('gpd');
const total = { v1: 0, gpd: 0 };
for (let r = 0; r < ROUNDS; r++) {
  for (const face of r % 2 === 0 ? (['v1', 'gpd'] as const) : (['gpd', 'v1'] as const)) total[face] += await round(face);
}
const rate = (ms: number) => (PER_ROUND * ROUNDS) / (ms / 1000);
const ok = report({
  name: 'gpd create throughput vs /api/v1 create (same positions)',
  ours: rate(total.gpd),
  baseline: rate(total.v1),
  unit: 'positions/s',
  better: 'higher',
  goal: { atLeast: 0.8 },
  extra: `${ROUNDS}×${PER_ROUND} each, 3 options × 2 transfers, published`,
});
await app.close();
fs.rmSync(dir, { recursive: true, force: true });
process.exitCode = ok ? 0 : 1;
