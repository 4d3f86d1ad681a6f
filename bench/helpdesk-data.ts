/**
 * A helpdesk database at scale for benchmarks, surveys and tests, written with raw statements
 * (db/raw.ts: cached prepared statements on SQLite, the same texts on PostgreSQL) in one
 * transaction: 5 comuni, `options` payment options (one per position, created over a year),
 * `receipts` of them paid (with their transfer), and a share `credited` of the receipts credited by
 * the treasury through a reporting flow (matched flow rows in flows that have a credit movement),
 * the rest not credited. No ANALYZE, as in production.
 */
import type { DbLike } from '../src/db/client.js';
import { dialectOf, sqlGet, sqlRun } from '../src/db/raw.js';

export interface HelpdeskData {
  enti: number[];
  options: number;
  receipts: number;
  uncredited: number;
}

const DAY = 86_400_000;

export async function seedHelpdeskData(db: DbLike, opts: { options: number; receipts: number; credited: number; now?: Date }): Promise<HelpdeskData> {
  const now = (opts.now ?? new Date()).getTime();
  const enti: number[] = [];
  const cfs: string[] = [];
  let uncredited = 0;
  await db.transaction(async () => {
    /** Runs an INSERT, returns the new row's id. */
    const insertId = async (text: string, ...params: unknown[]) => Number((await sqlGet<{ id: number }>(db, `${text} RETURNING id`, ...params))!.id);
    const run = (text: string) => async (...params: unknown[]) => await sqlRun(db, text, ...params);
    const ins = (text: string) => async (...params: unknown[]) => await insertId(text, ...params);
    const ente = ins("INSERT INTO enti (kind, name, fiscal_code, ipa_code, segregation_code, member) VALUES ('comune', ?, ?, ?, '01', 1)");
    const service = ins("INSERT INTO payment_services (ente_id, code, name, taxonomy_code) VALUES (?, 'TARI', 'TARI', '9/0101108TS/')");
    const services: number[] = [];
    for (let e = 0; e < 5; e++) {
      const cf = `8000000000${e}`;
      const id = await ente(`Comune di Prova ${e + 1}`, cf, `c_bench${e}`);
      enti.push(id);
      cfs.push(cf);
      services.push(await service(id));
    }
    const imp = ins("INSERT INTO treasury_imports (ente_id, format, file_name, sha256, movements, new_movements, created_by) VALUES (?, 'csv', 'x.csv', 'x', 0, 0, 'bench')");
    const imports: number[] = [];
    for (const e of enti) imports.push(await imp(e));
    const pos = run(
      `INSERT INTO positions (id, ente_id, service_id, iupd, debtor_type, debtor_fiscal_code, debtor_name, description, status, payload_hash, published_at, created_at)
       VALUES (?, ?, ?, ?, 'F', ?, ?, 'TARI 2026', ?, 'h', ?, ?)`,
    );
    const opt = run(
      `INSERT INTO payment_options (id, position_id, ente_id, ordinal, kind, amount_cents, due_date, iuv, notice_number, status, paid_at, created_at)
       VALUES (?, ?, ?, 1, 'single', ?, ?, ?, ?, ?, ?, ?)`,
    );
    const rc = run(
      `INSERT INTO receipts (id, ente_id, id_pa, fiscal_code, iuv, receipt_id, notice_number, primitive, outcome, payment_amount_cents, description, company_name,
         debtor_type, debtor_fiscal_code, debtor_name, debtor, id_psp, psp_company_name, id_channel, channel_description, processing, raw_xml, position_id, option_id, payment_date_time, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'paSendRTV2', 'OK', ?, 'TARI', 'Comune', 'F', ?, ?, '{}', 'PSP1', 'PSP', 'PSP1_01', 'app', 'applied', '<x/>', ?, ?, ?, ?)`,
    );
    const tr = run(
      "INSERT INTO receipt_transfers (receipt_row_id, id_transfer, amount_cents, fiscal_code_pa, remittance_information, transfer_category) VALUES (?, 1, ?, ?, 'TARI', '9/0101108TS/')",
    );
    const flow = ins(
      `INSERT INTO fdr_flows (ente_id, flow_id, flow_date_time, psp_id, settlement_id, settlement_date, receiver_fiscal_code, total_payments, total_amount_cents, raw_xml, source)
       VALUES (?, ?, ?, 'PSP1', ?, ?, ?, 0, 0, '<flow/>', 'nodoChiedi')`,
    );
    const mov = ins(
      `INSERT INTO treasury_movements (ente_id, import_id, movement_id, direction, amount_cents, booking_date, causale, payload_hash, ref_kind, state, flow_row_id)
       VALUES (?, ?, ?, 'credit', 0, ?, 'x', 'h', 'flow', 'matched', ?)`,
    );
    const recon = run(
      `INSERT INTO fdr_flow_recon (flow_row_id, ente_id, flow_id, psp_id, revision, state, count_ok, sum_ok, computed_count, computed_sum_cents, sha256, credit_movement_id)
       VALUES (?, ?, ?, 'PSP1', 1, 'accepted', 1, 1, 0, 0, 'x', ?)`,
    );
    const entry = ins("INSERT INTO fdr_entries (flow_row_id, ordinal, iuv, iur, transfer_index, amount_cents, outcome_code, outcome_date) VALUES (?, ?, ?, ?, 1, ?, '0', ?)");
    const match = run("INSERT INTO fdr_entry_matches (entry_id, flow_row_id, ente_id, state, receipt_row_id) VALUES (?, ?, ?, 'matched', ?)");
    // One credited flow per ente and day.
    const flows = new Map<string, number>();
    const flowFor = async (e: number, day: string): Promise<number> => {
      const key = `${e}|${day}`;
      let id = flows.get(key);
      if (id === undefined) {
        id = await flow(enti[e], `${day}PSP1-${e}`, `${day}T10:00:00`, `S${key}`, day, cfs[e]);
        const m = await mov(enti[e], imports[e], `M${key}`, day, id);
        await recon(id, enti[e], `${day}PSP1-${e}`, m);
        flows.set(key, id);
      }
      return id;
    };
    let ordinal = 0;
    const paidEvery = opts.options / opts.receipts;
    let nextPaid = 0;
    let r = 0;
    for (let i = 1; i <= opts.options; i++) {
      const e = i % 5;
      const created = new Date(now - 400 * DAY + Math.floor((i / opts.options) * 360 * DAY)).toISOString();
      const iuv = `0${e}${String(i).padStart(15, '0')}`;
      const amount = 1000 + (i % 9000);
      const paid = i >= nextPaid && r < opts.receipts;
      let paidAt: string | null = null;
      if (paid) {
        nextPaid += paidEvery;
        r++;
        paidAt = new Date(Date.parse(created) + ((i * 7) % 30) * DAY + 3_600_000).toISOString();
      }
      const debtor = `RSSMRA${String(i % 100000).padStart(5, '0')}A562S`;
      await pos(i, enti[e], services[e], `IUPD${i}`, debtor, `Debitore ${i}`, paid ? 'paid' : 'valid', created, created);
      await opt(i, i, enti[e], amount, created.slice(0, 10), iuv, `3${iuv}`, paid ? 'paid' : 'unpaid', paidAt, created);
      if (paid) {
        await rc(r, enti[e], cfs[e], cfs[e], iuv, `IUR${i}`, `3${iuv}`, amount, debtor, `Debitore ${i}`, i, i, paidAt, paidAt);
        await tr(r, amount, cfs[e]);
        if ((r * 7919) % 1000 < opts.credited * 1000) {
          const day = new Date(Date.parse(paidAt!) + 2 * DAY).toISOString().slice(0, 10);
          const f = await flowFor(e, day);
          const en = await entry(f, ++ordinal, iuv, `IUR${i}`, amount, day);
          await match(en, f, enti[e], r);
        } else uncredited++;
      }
    }
  });
  // Rows inserted with their id: PostgreSQL's identity sequences move on past them.
  if (dialectOf(db) === 'postgres') {
    for (const t of ['positions', 'payment_options', 'receipts']) await sqlGet(db, `SELECT setval(pg_get_serial_sequence('${t}', 'id'), (SELECT max(id) FROM ${t}))`);
  }
  return { enti, options: opts.options, receipts: opts.receipts, uncredited };
}
