/** Position bodies for tests: a TARI with a 3-installment plan split between comune and province (TEFA). */
import type { FastifyInstance } from 'fastify';
import { listEnti, listIbans } from '../../src/modules/enti/repository.js';
import { createApiKey } from '../../src/modules/users/repository.js';

export async function demoEnte(app: FastifyInstance, name: string) {
  const ente = (await listEnti(app.db, { q: name })).find((e) => e.name === name || e.name === `Comune di ${name}`)!;
  return { ente, ibans: await listIbans(app.db, ente.id) };
}

export async function apiKeyFor(app: FastifyInstance, enteId: number): Promise<string> {
  return (await createApiKey(app.db, enteId, 'test', { actor: 'test' })).key;
}

/** A date `days` after today, ISO. */
export function inDays(days: number): string {
  const d = new Date(Date.now() + days * 86_400_000);
  return d.toISOString().slice(0, 10);
}

export async function tariBody(app: FastifyInstance, comune = 'Campobasso', overrides: Record<string, unknown> = {}) {
  const { ente } = await demoEnte(app, comune);
  const { ente: province, ibans: provinceIbans } = await demoEnte(app, 'Provincia di Campobasso');
  const installment = (n: number, amount: number, tefa: number) => ({
    isInstallment: true,
    installmentNumber: n,
    description: `TARI 2026 rata ${n} di 3`,
    amountCents: amount,
    dueDate: inDays(30 * n),
    transfers: [
      { idTransfer: 1, amountCents: amount - tefa, remittanceInformation: `TARI 2026 rata ${n}`, taxonomyCode: '9/0101108TS/' },
      {
        idTransfer: 2,
        fiscalCodePA: province.fiscalCode,
        iban: provinceIbans[0]!.iban,
        amountCents: tefa,
        remittanceInformation: `TEFA 2026 rata ${n}`,
        taxonomyCode: '9/0201101IM/',
      },
    ],
  });
  return {
    ente,
    body: {
      iupd: 'TARI-2026-0001',
      serviceCode: 'TARI',
      debtor: { type: 'F', fiscalCode: 'RSSMRA85T10A562S', fullName: 'Mario Rossi', streetName: 'Via Roma', civicNumber: '1', postalCode: '86100', city: 'Campobasso', province: 'CB', email: 'mario.rossi@example.invalid' },
      description: 'TARI 2026 – tassa sui rifiuti',
      paymentOptions: [
        {
          isInstallment: false,
          description: 'TARI 2026 in unica soluzione',
          amountCents: 30000,
          dueDate: inDays(30),
          transfers: [
            { idTransfer: 1, amountCents: 28500, remittanceInformation: 'TARI 2026', taxonomyCode: '9/0101108TS/' },
            { idTransfer: 2, fiscalCodePA: province.fiscalCode, iban: provinceIbans[0]!.iban, amountCents: 1500, remittanceInformation: 'TEFA 2026', taxonomyCode: '9/0201101IM/' },
          ],
        },
        installment(1, 10000, 500),
        installment(2, 10000, 500),
        installment(3, 10000, 500),
      ],
      ...overrides,
    },
  };
}
