/** Pure helpdesk logic, table-driven: causale parsing, flow-row rules, SLA calendar, statement parsing. */
import t from 'tap';
import { parseCausale, resolveFlowId } from '../../src/modules/helpdesk/causale.js';
import { checkHeader, classifyFlowRow, decideFlowCredit, decideReceiptCredit, type RowFacts } from '../../src/modules/helpdesk/matching.js';
import { addBusinessMinutes, businessMinutesBetween, defaultCalendar, easterSunday, isHoliday, workingDaysBetween } from '../../src/modules/helpdesk/sla-calendar.js';
import { parseCamt053, parseItalianAmount, parseItalianDate, parseStatementCsv } from '../../src/modules/helpdesk/statement.js';

t.test('causale: noisy and wrapped AT-05 texts', async (t) => {
  const cases: [string, ReturnType<typeof parseCausale>][] = [
    ['/PUR/LGPE-RIVERSAMENTO/URI/2026-03-17ABI03069-0001', { kind: 'flow', flowId: '2026-03-17ABI03069-0001' }],
    ['RI1/PUR/LGPE-RIVERSAMENTO/URI/2026-03-17ABI03069-0001', { kind: 'flow', flowId: '2026-03-17ABI03069-0001' }],
    ['...,00/ZZ2SATISPAY EUROPE SA/ZZ3Comune Dimostrativo/PUR/LGPE- RIVERSAMENTO/URI/2020-11-21GovPAYPsp-1234567890/ZZ4/...', { kind: 'flow', flowId: '2020-11-21GovPAYPsp-1234567890' }],
    ['ACCREDITO BOLLETTINO P.A. /PUR/LGPE-RIVERSAMENTO/URI/20 21-03-17BPPIITRRXXX-00 01/ZZ2', { kind: 'flow', flowId: '2021-03-17BPPIITRRXXX-0001' }],
    [':RI3:/PUR/LGPE-RIVERSAMENTO/TXT/1/URI/2026-01-05PSPX-77', { kind: 'flow', flowId: '2026-01-05PSPX-77' }],
    ['/pur/lgpe-riversamento/uri/2026-01-05PSPX-77', { kind: 'flow', flowId: '2026-01-05PSPX-77' }],
    ['/PUR/LGPE-INTEGRAZIONE/URI/2026-01-05PSPX-77', { kind: 'integration', flowId: '2026-01-05PSPX-77' }],
    ['/RFB/010000000000123/150.00/TXT/TARI 2026', { kind: 'iuv', iuv: '010000000000123', form: 'RFB', amountCents: 15000 }],
    ['BONIFICO /RFB/01000000 0000123/12,5', { kind: 'iuv', iuv: '010000000000123', form: 'RFB', amountCents: 1250 }],
    ['/RFB/010000000000123', { kind: 'iuv', iuv: '010000000000123', form: 'RFB', amountCents: null }],
    ['/RFB/010000000000123/TXT/Integrazione', { kind: 'iuv', iuv: '010000000000123', form: 'RFB', amountCents: null }],
    ['/RFS/RF23010000000000123/30.00/TXT/x', { kind: 'iuv', iuv: '010000000000123', form: 'RFS', amountCents: 3000 }],
    ['STIPENDI MARZO', { kind: 'none' }],
    ['', { kind: 'none' }],
  ];
  for (const [input, expected] of cases) t.same(parseCausale(input), expected, input);
});

t.test('causale: glued trailing words resolve to the longest known flow id', async (t) => {
  const parsed = parseCausale('/PUR/LGPE-RIVERSAMENTO/URI/2026-03-17PSP-0001 ACCREDITO');
  t.same(parsed, { kind: 'flow', flowId: '2026-03-17PSP-0001ACCREDITO' });
  t.equal(resolveFlowId('2026-03-17PSP-0001ACCREDITO', ['2026-03-17PSP-00', '2026-03-17PSP-0001', 'other']), '2026-03-17PSP-0001');
  t.equal(resolveFlowId('2026-03-17PSP-0001', ['2026-03-17PSP-0001']), '2026-03-17PSP-0001');
  t.equal(resolveFlowId('2026-03-17PSP-0001', ['2026-03-17PSP-00011']), null);
});

t.test('flow rows: classification table', async (t) => {
  const base: RowFacts = { outcomeCode: '0', amountCents: 1000, candidates: [{ transferAmountCents: 1000 }], duplicateInFlow: false, reportedElsewhere: false, otherEnteReceipts: 0 };
  const cases: [string, Partial<RowFacts>, string, string | null][] = [
    ['match', {}, 'matched', null],
    ['stand-in 4', { outcomeCode: '4' }, 'matched', null],
    ['stand-in 8', { outcomeCode: '8' }, 'matched', null],
    ['unknown outcome', { outcomeCode: '7' }, 'unknown_outcome', 'fdr_row_unknown_outcome'],
    ['duplicate row', { duplicateInFlow: true }, 'duplicate', 'fdr_row_duplicate'],
    ['two receipts', { candidates: [{ transferAmountCents: 1000 }, { transferAmountCents: 1000 }] }, 'multiple', 'fdr_row_multiple_match'],
    ['no receipt', { candidates: [] }, 'no_receipt', 'fdr_row_without_receipt'],
    ['no receipt, esito 9', { candidates: [], outcomeCode: '9' }, 'no_receipt', 'fdr_row_unknown_payment'],
    ['another ente', { candidates: [], otherEnteReceipts: 1 }, 'other_ente', 'fdr_row_other_ente'],
    ['amount', { amountCents: 999 }, 'amount_mismatch', 'fdr_row_amount_mismatch'],
    ['revoked ok', { outcomeCode: '3', amountCents: -1000 }, 'revoked', null],
    ['revoked wrong', { outcomeCode: '3', amountCents: -900 }, 'amount_mismatch', 'fdr_row_revoked_amount'],
    ['reported elsewhere', { reportedElsewhere: true }, 'already_reported', 'fdr_row_already_reported'],
  ];
  for (const [name, facts, state, anomaly] of cases) t.same(classifyFlowRow({ ...base, ...facts }), { state, anomaly }, name);
  t.same(checkHeader({ totalPayments: 2, totalAmountCents: 300 }, [{ amountCents: 100 }, { amountCents: -200 }]), { countOk: true, sumOk: true, computedCount: 2, computedSumCents: 300 });
  t.same(checkHeader({ totalPayments: 3, totalAmountCents: 301 }, [{ amountCents: 100 }]).sumOk, false);
});

t.test('credits: decision table', async (t) => {
  const flow = { flowRowId: 5, state: 'accepted' as const, totalAmountCents: 1000, creditMovementId: null };
  t.same(decideFlowCredit(1000, 1, flow), { state: 'matched', flowRowId: 5 });
  t.same(decideFlowCredit(1000, 1, null), { state: 'parked', code: 'IDF_NON_TROVATO' });
  t.match(decideFlowCredit(999, 1, flow), { state: 'error', code: 'IMPORTO_ERRATO' });
  t.match(decideFlowCredit(1000, 1, { ...flow, state: 'anomalous' }), { state: 'error', code: 'FR_ANOMALA' });
  t.match(decideFlowCredit(1000, 1, { ...flow, creditMovementId: 2 }), { state: 'error', code: 'FLUSSO_GIA_INCASSATO' });
  t.same(decideFlowCredit(1000, 2, { ...flow, creditMovementId: 2 }), { state: 'matched', flowRowId: 5 }, 'idempotent for the same movement');
  t.same(decideReceiptCredit(500, 1, []), { state: 'parked', code: 'PAGAMENTO_NON_TROVATO' });
  t.match(decideReceiptCredit(500, 1, [{ receiptRowId: 1, enteAmountCents: 500, creditMovementId: null }, { receiptRowId: 2, enteAmountCents: 500, creditMovementId: null }]), { code: 'PAGAMENTO_NON_IDENTIFICATO' });
  t.match(decideReceiptCredit(500, 1, [{ receiptRowId: 1, enteAmountCents: 500, creditMovementId: 9 }]), { code: 'PAGAMENTO_GIA_INCASSATO' });
  t.match(decideReceiptCredit(400, 1, [{ receiptRowId: 1, enteAmountCents: 500, creditMovementId: null }]), { code: 'IMPORTO_ERRATO' });
  t.same(decideReceiptCredit(500, 1, [{ receiptRowId: 1, enteAmountCents: 500, creditMovementId: null }]), { state: 'matched', receiptRowId: 1 });
});

t.test('SLA calendar: holidays, weekends, business minutes', async (t) => {
  t.same(easterSunday(2026), [4, 5]);
  t.same(easterSunday(2025), [4, 20]);
  t.same(easterSunday(2024), [3, 31]);
  const holidays: [string, boolean][] = [
    ['2026-04-06', true], // Easter Monday
    ['2025-04-21', true],
    ['2026-04-25', true],
    ['2026-06-02', true],
    ['2026-12-08', true],
    ['2026-12-26', true],
    ['2026-04-07', false],
    ['2026-04-05', false], // Easter Sunday is a Sunday, not in the holiday list
  ];
  for (const [d, h] of holidays) t.equal(isHoliday(d), h, d);
  const cal = defaultCalendar('09:00-13:00,14:00-17:00', ['04-23']);
  t.equal(isHoliday('2026-04-23', cal.extraHolidays), true, 'patron saint');
  const at = (s: string) => new Date(s);
  const cases: [string, string, number][] = [
    ['2026-03-10T09:00:00+01:00', '2026-03-10T17:00:00+01:00', 420],
    ['2026-03-10T12:00:00+01:00', '2026-03-10T15:00:00+01:00', 120], // lunch break
    ['2026-03-13T16:00:00+01:00', '2026-03-16T10:00:00+01:00', 120], // Friday → Monday across a weekend
    ['2026-04-03T16:00:00+02:00', '2026-04-07T10:00:00+02:00', 120], // Good Friday → Tuesday after Easter Monday
    ['2026-03-28T10:00:00+01:00', '2026-03-29T10:00:00+02:00', 0], // weekend with the DST change
    ['2026-03-10T18:00:00+01:00', '2026-03-10T20:00:00+01:00', 0],
  ];
  for (const [a, b, n] of cases) t.equal(businessMinutesBetween(at(a), at(b), cal), n, `${a} → ${b}`);
  t.equal(addBusinessMinutes(at('2026-03-13T16:00:00+01:00'), 120, cal).toISOString(), at('2026-03-16T10:00:00+01:00').toISOString());
  t.equal(addBusinessMinutes(at('2026-04-03T16:30:00+02:00'), 60, cal).toISOString(), at('2026-04-07T09:30:00+02:00').toISOString(), 'skips Easter Monday');
  t.equal(addBusinessMinutes(at('2026-04-22T16:00:00+02:00'), 120, cal).toISOString(), at('2026-04-24T10:00:00+02:00').toISOString(), 'skips 23 April (patron) and the gap');
  t.equal(workingDaysBetween('2026-04-03', '2026-04-08', { extraHolidays: [] }), 2, 'Tue and Wed after Easter Monday');
});

t.test('statement CSV: Italian formats, precise errors', async (t) => {
  t.equal(parseItalianDate('05/03/2026'), '2026-03-05');
  t.equal(parseItalianDate('31/02/2026'), null);
  t.equal(parseItalianAmount('1.234,56'), 123456);
  t.equal(parseItalianAmount('-12,5'), -1250);
  t.equal(parseItalianAmount('12.50'), 1250);
  t.equal(parseItalianAmount('1,234.56'), null);
  const ok = parseStatementCsv(
    Buffer.from('\uFEFFData contabile;Data valuta;ID movimento;Segno;Importo;Causale\r\n16/03/2026;16/03/2026;TRN1;C;1.234,56;"/PUR/LGPE-RIVERSAMENTO/URI/X; y"\r\n16/03/2026;;TRN2;D;10,00;COMMISSIONI\r\n'),
  );
  t.same(ok.problems, []);
  t.same(ok.movements.map((m) => [m.movementId, m.direction, m.amountCents, m.bookingDate, m.causale]), [
    ['TRN1', 'CRDT', 123456, '2026-03-16', '/PUR/LGPE-RIVERSAMENTO/URI/X; y'],
    ['TRN2', 'DBIT', 1000, '2026-03-16', 'COMMISSIONI'],
  ]);
  const latin1 = parseStatementCsv(Buffer.concat([Buffer.from('data_contabile;id_movimento;importo;causale\n01/02/2026;A1;5,00;Citt'), Buffer.from([0xe0]), Buffer.from('\n')]));
  t.equal(latin1.movements[0]!.causale, 'Città', 'Windows-1252 fallback');
  const bad = parseStatementCsv(Buffer.from('data_contabile;id_movimento;importo;causale\n32/01/2026;A1;5,00;x\n01/01/2026;A1;abc;x\n01/01/2026;;1,00;x\n'));
  t.same(
    bad.problems.map((p) => [p.line, p.field]),
    [
      [2, 'data_contabile'],
      [3, 'id_movimento'],
      [3, 'importo'],
      [4, 'id_movimento'],
    ],
  );
  t.match(parseStatementCsv(Buffer.from('a;b\n1;2\n')).problems[0], { field: 'data_contabile' });
});

t.test('camt.053 sample', async (t) => {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-03-17T08:00:00</CreDtTm></GrpHdr>
<Stmt><Id>S1</Id><Acct><Id><IBAN>IT60X0542811101000000123456</IBAN></Id></Acct>
<Ntry><NtryRef>N1</NtryRef><Amt Ccy="EUR">1234.56</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-03-16</Dt></BookgDt><ValDt><Dt>2026-03-16</Dt></ValDt><AcctSvcrRef>TRN-9</AcctSvcrRef>
<NtryDtls><TxDtls><Refs><EndToEndId>E2E</EndToEndId></Refs><RmtInf><Ustrd>/PUR/LGPE-RIVERSAMENTO/URI/2026-03-15</Ustrd><Ustrd>PSP-0001</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
<Ntry><Amt Ccy="EUR">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>PDNG</Sts><BookgDt><Dt>2026-03-16</Dt></BookgDt><AcctSvcrRef>TRN-10</AcctSvcrRef></Ntry>
<Ntry><Amt Ccy="USD">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-03-16</Dt></BookgDt><AcctSvcrRef>TRN-11</AcctSvcrRef></Ntry>
</Stmt></BkToCstmrStmt></Document>`;
  const r = parseCamt053(Buffer.from(xml));
  t.equal(r.movements.length, 1);
  t.match(r.movements[0], { movementId: 'TRN-9', direction: 'CRDT', amountCents: 123456, bookingDate: '2026-03-16', account: 'IT60X0542811101000000123456' });
  t.same(parseCausale(r.movements[0]!.causale), { kind: 'flow', flowId: '2026-03-15PSP-0001' }, 'Ustrd lines joined, wrap removed');
  t.same(r.skipped, [{ line: 2, reason: 'movimento non contabilizzato (stato PDNG)' }]);
  t.match(r.problems, [{ line: 3, field: 'Amt/@Ccy' }]);
  t.match(parseCamt053(Buffer.from('<Document xmlns="urn:x"/>')).problems[0], { message: /camt\.053/ });
});
