/** Positions owned by a citizen, created through the real service layer (validation, IUVs, audit). */
import type { FastifyInstance } from 'fastify';
import { sqlRun } from '../../src/db/raw.js';
import { listEnti } from '../../src/modules/enti/repository.js';
import { cancelPosition, createPosition, type PositionDetail } from '../../src/modules/positions/repository.js';
import { preparePositionWrite } from '../../src/modules/positions/service.js';
import { demoCitizenProfiles } from '../../src/modules/enti/demo-seed.js';

let seq = 0;

export function inDays(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

export async function comune(app: FastifyInstance, name: string) {
  return (await listEnti(app.db, { q: name, kind: 'comune' })).find((e) => e.name === `Comune di ${name}`)!;
}

export interface CitizenPositionOptions {
  comune?: string;
  description?: string;
  amountCents?: number;
  /** Adds a plan of this many installments next to the single payment. */
  installments?: number;
  dueInDays?: number;
  publish?: boolean;
  serviceCode?: string;
}

/** A published position of `fiscalCode` at a member comune (single payment, optionally + installments). */
export async function createCitizenPosition(app: FastifyInstance, fiscalCode: string, fullName: string, o: CitizenPositionOptions = {}): Promise<PositionDetail> {
  const ente = await comune(app, o.comune ?? 'Campobasso');
  const amount = o.amountCents ?? 12000;
  const due = o.dueInDays ?? 30;
  const description = o.description ?? `TARI 2026 n. ${++seq}`;
  const single = {
    isInstallment: false,
    amountCents: amount,
    dueDate: inDays(due),
    transfers: [{ idTransfer: 1, amountCents: amount, remittanceInformation: description, taxonomyCode: '9/0101108TS/' }],
  };
  const n = o.installments ?? 0;
  const rate = Math.floor(amount / Math.max(n, 1));
  const installments = Array.from({ length: n }, (_, i) => {
    const cents = i === n - 1 ? amount - rate * (n - 1) : rate;
    return {
      isInstallment: true,
      installmentNumber: i + 1,
      description: `${description} rata ${i + 1} di ${n}`,
      amountCents: cents,
      dueDate: inDays(due + 30 * i),
      transfers: [{ idTransfer: 1, amountCents: cents, remittanceInformation: `${description} rata ${i + 1}`, taxonomyCode: '9/0101108TS/' }],
    };
  });
  const prepared = await preparePositionWrite(app.db, ente, {
      serviceCode: o.serviceCode ?? 'TARI',
      debtor: { type: 'F', fiscalCode, fullName },
      description,
      paymentOptions: [single, ...installments],
    });
  if (!prepared.ok) throw new Error(`invalid test position: ${JSON.stringify(prepared.errors)}`);
  return (await createPosition(app.db, ente, prepared.service, prepared.write, { publish: o.publish ?? true }, { actor: 'test' })).position;
}

export async function cancel(app: FastifyInstance, p: PositionDetail): Promise<void> {
  await cancelPosition(app.db, p.enteId, p.iupd, { actor: 'test' });
}

/** Marks a position expired in the database (as the nightly expiry would once past due). */
export async function expire(app: FastifyInstance, p: PositionDetail): Promise<void> {
  await sqlRun(app.db, "UPDATE positions SET status = 'expired', switch_to_expired = 1 WHERE id = ?", p.id);
}

export function citizens() {
  const [lucia, antonio, giulia] = demoCitizenProfiles();
  return { lucia: lucia!, antonio: antonio!, giulia: giulia! };
}

export function fullName(c: { name: string; familyName: string }): string {
  return `${c.name} ${c.familyName}`;
}
