import t, { type Test } from 'tap';
import { numericFiscalCodeFromBase, personalCheckChar } from '../../src/domain/fiscal-code.js';
import { ibanCheckDigits } from '../../src/domain/iban.js';
import {
  isValidTaxonomyCode,
  parseDateInput,
  validatePosition,
  type FieldError,
  type PositionValidationResult,
  type ValidPosition,
  type ValidationContext,
} from '../../src/modules/positions/validation.js';

// Demo data of valid format (not real codes).
const COMUNE = numericFiscalCodeFromBase('8000000001');
const PROVINCIA = numericFiscalCodeFromBase('8000000002');
const COMPANY = numericFiscalCodeFromBase('0123456789');
const PERSON = 'RSSMRA85T10A562S';
const NICOLO = 'DVRNCL80A01B519' + personalCheckChar('DVRNCL80A01B519');
const iban = (bban: string) => `IT${ibanCheckDigits('IT', bban)}${bban}`;
const IBAN_COMUNE = iban('X0542811101000000123456');
const IBAN_PROVINCIA = iban('X0306903206100000046001');
const IBAN_POSTALE = iban('X0760103200001234567890');
const SHA256_B64 = Buffer.alloc(32, 7).toString('base64'); // 44 characters

const ctx: ValidationContext = { enteFiscalCode: COMUNE };

function basePosition(): Record<string, any> {
  return {
    iupd: 'TARI-2025-0001',
    debtor: { type: 'F', fiscalCode: PERSON, fullName: 'Mario Rossi' },
    description: 'TARI 2025',
    paymentOptions: [
      {
        amountCents: 12050,
        dueDate: '2025-06-16',
        transfers: [{ amountCents: 12050, iban: IBAN_COMUNE, remittanceInformation: 'TARI 2025', taxonomyCode: '9/0201102IM/' }],
      },
    ],
  };
}

function ok(t: Test, r: PositionValidationResult): ValidPosition {
  if (!r.ok) {
    t.fail(`expected valid, got ${JSON.stringify(r.errors)}`);
    throw new Error('invalid');
  }
  return r.value;
}

function errorsOf(t: Test, r: PositionValidationResult): FieldError[] {
  if (r.ok) {
    t.fail('expected errors, got a valid position');
    return [];
  }
  for (const e of r.errors) {
    if (!e.message || /undefined|null|\[object/.test(e.message)) t.fail(`bad message: ${JSON.stringify(e)}`);
  }
  return r.errors;
}

/** Asserts that exactly the given fields have errors (each at least once). */
function expectFields(t: Test, r: PositionValidationResult, fields: string[], msg?: string): FieldError[] {
  const errors = errorsOf(t, r);
  t.same([...new Set(errors.map((e) => e.field))].sort(), [...fields].sort(), msg ?? fields.join(', '));
  return errors;
}

t.test('a minimal valid position is normalised', async (t) => {
  const input = basePosition();
  input.iupd = ' TARI-2025-0001 ';
  input.debtor = {
    type: 'f',
    fiscalCode: ' rssmra85t10a562s ',
    fullName: '  Mario   Rossi ',
    postalCode: '86100',
    province: 'cb',
    country: 'it',
    email: ' mario.rossi@example.it ',
  };
  input.description = ' TARI   2025 ';
  input.validityDate = '01/03/2025';
  input.paymentOptions[0] = {
    amountEuro: '1.234,56',
    dueDate: '16/6/2025',
    transfers: [
      {
        amountEuro: '1234.56',
        iban: IBAN_COMUNE.toLowerCase().replace(/(.{4})/g, '$1 '),
        remittanceInformation: 'TARI\n2025',
        taxonomyCode: ' 9/0201102im/ ',
      },
    ],
  };
  const v = ok(t, validatePosition(input, ctx));
  t.equal(v.iupd, 'TARI-2025-0001');
  t.same(v.debtor, {
    type: 'F',
    fiscalCode: PERSON,
    fullName: 'Mario Rossi',
    streetName: null,
    civicNumber: null,
    postalCode: '86100',
    city: null,
    province: 'CB',
    country: 'IT',
    email: 'mario.rossi@example.it',
  });
  t.equal(v.description, 'TARI 2025');
  t.equal(v.validityDate, '2025-03-01');
  t.same(v.paymentOptions, [
    {
      kind: 'single',
      plan: null,
      installmentNumber: null,
      installmentCount: null,
      description: null,
      amountCents: 123456,
      dueDate: '2025-06-16',
      retentionDate: null,
      transfers: [
        {
          idTransfer: 1,
          fiscalCodePA: COMUNE,
          amountCents: 123456,
          iban: IBAN_COMUNE,
          postalIban: null,
          stamp: null,
          remittanceInformation: 'TARI 2025',
          taxonomyCode: '9/0201102IM/',
          metadata: [],
        },
      ],
    },
  ]);
  const noIupd = basePosition();
  delete noIupd.iupd;
  t.equal(ok(t, validatePosition(noIupd, ctx)).iupd, null, 'iupd is optional');
});

t.test('TARI + TEFA: two beneficiaries on one option, transfers sorted by id', async (t) => {
  const input = basePosition();
  input.paymentOptions[0] = {
    amountCents: '10500',
    dueDate: '2025-06-16',
    transfers: [
      {
        idTransfer: '2',
        fiscalCodePA: PROVINCIA,
        amountCents: 500,
        iban: IBAN_PROVINCIA,
        remittanceInformation: 'TEFA 2025',
        taxonomyCode: '9/0201109IM/',
        metadata: { 'TARI-TEFA-2': 'B519|2025|TEFA' },
      },
      { idTransfer: 1, amountCents: 10000, iban: IBAN_COMUNE, remittanceInformation: 'TARI 2025', taxonomyCode: '9/0201102IM/' },
    ],
  };
  const v = ok(t, validatePosition(input, ctx));
  const [first, second] = v.paymentOptions[0]!.transfers;
  t.equal(first!.idTransfer, 1);
  t.equal(first!.fiscalCodePA, COMUNE);
  t.equal(second!.idTransfer, 2);
  t.equal(second!.fiscalCodePA, PROVINCIA);
  t.same(second!.metadata, [{ key: 'TARI-TEFA-2', value: 'B519|2025|TEFA' }]);
});

t.test('sum of transfers must equal the option amount, and the error names the option', async (t) => {
  const input = basePosition();
  input.paymentOptions[0].transfers.push({
    fiscalCodePA: PROVINCIA,
    amountCents: 500,
    iban: IBAN_PROVINCIA,
    remittanceInformation: 'TEFA',
    taxonomyCode: '9/0201109IM/',
  });
  const errors = expectFields(t, validatePosition(input, ctx), ['paymentOptions[0].transfers']);
  t.match(errors[0]!.message, /somma dei trasferimenti/);
  t.match(errors[0]!.message, /opzione di pagamento n\. 1 \(unica soluzione\)/);
  t.match(errors[0]!.message, /125,50/);
  t.match(errors[0]!.message, /120,50/);
});

t.test('at least one transfer must go to the issuing ente', async (t) => {
  const input = basePosition();
  input.paymentOptions[0].transfers[0].fiscalCodePA = PROVINCIA;
  input.paymentOptions[0].transfers[0].iban = IBAN_PROVINCIA;
  const errors = expectFields(t, validatePosition(input, ctx), ['paymentOptions[0].transfers']);
  t.match(errors[0]!.message, new RegExp(COMUNE));
  t.ok(validatePosition(input, { enteFiscalCode: PROVINCIA }).ok, 'valid for the province itself');
});

t.test('transfer ids: unique, consecutive from 1, in range', async (t) => {
  const two = () => {
    const input = basePosition();
    input.paymentOptions[0].amountCents = 20000;
    input.paymentOptions[0].transfers = [
      { amountCents: 10000, iban: IBAN_COMUNE, remittanceInformation: 'A', taxonomyCode: '9/0201102IM/' },
      { amountCents: 10000, iban: IBAN_COMUNE, remittanceInformation: 'B', taxonomyCode: '9/0201102IM/' },
    ];
    return input;
  };
  t.ok(validatePosition(two(), ctx).ok, 'default ids 1, 2');

  let input = two();
  input.paymentOptions[0].transfers[0].idTransfer = 2;
  input.paymentOptions[0].transfers[1].idTransfer = 2;
  expectFields(t, validatePosition(input, ctx), ['paymentOptions[0].transfers[1].idTransfer'], 'duplicate');

  input = two();
  input.paymentOptions[0].transfers[0].idTransfer = 1;
  input.paymentOptions[0].transfers[1].idTransfer = 3;
  const gap = expectFields(t, validatePosition(input, ctx), ['paymentOptions[0].transfers'], 'gap');
  t.match(gap[0]!.message, /manca il trasferimento 2/);

  input = two();
  input.paymentOptions[0].transfers[1].idTransfer = 6;
  expectFields(t, validatePosition(input, ctx), ['paymentOptions[0].transfers[1].idTransfer'], 'out of range');
  input.paymentOptions[0].transfers[1].idTransfer = '0';
  expectFields(t, validatePosition(input, ctx), ['paymentOptions[0].transfers[1].idTransfer'], 'zero');
  input.paymentOptions[0].transfers[1].idTransfer = 'due';
  expectFields(t, validatePosition(input, ctx), ['paymentOptions[0].transfers[1].idTransfer'], 'text');
});

t.test('1..5 transfers per option', async (t) => {
  let input = basePosition();
  input.paymentOptions[0].transfers = [];
  expectFields(t, validatePosition(input, ctx), ['paymentOptions[0].transfers'], 'none');
  delete input.paymentOptions[0].transfers;
  expectFields(t, validatePosition(input, ctx), ['paymentOptions[0].transfers'], 'missing');

  input = basePosition();
  input.paymentOptions[0].amountCents = 600;
  input.paymentOptions[0].transfers = Array.from({ length: 6 }, () => ({
    amountCents: 100,
    iban: IBAN_COMUNE,
    remittanceInformation: 'x',
    taxonomyCode: '9/0201102IM/',
  }));
  expectFields(t, validatePosition(input, ctx), ['paymentOptions[0].transfers'], 'six');
  input.paymentOptions[0].amountCents = 500;
  input.paymentOptions[0].transfers.pop();
  t.ok(validatePosition(input, ctx).ok, 'five is fine');
});

t.test('destination of a transfer: IBAN, postal IBAN or digital stamp', async (t) => {
  const withTransfer = (patch: Record<string, unknown>) => {
    const input = basePosition();
    const tr = input.paymentOptions[0].transfers[0];
    delete tr.iban;
    Object.assign(tr, patch);
    return input;
  };
  const f = 'paymentOptions[0].transfers[0]';

  expectFields(t, validatePosition(withTransfer({}), ctx), [`${f}.iban`], 'nothing');
  expectFields(t, validatePosition(withTransfer({ iban: 'IT60X0542811101000000123457' }), ctx), [`${f}.iban`], 'bad mod 97');
  expectFields(t, validatePosition(withTransfer({ postalIban: IBAN_COMUNE }), ctx), [`${f}.postalIban`], 'bank IBAN as postal');

  let v = ok(t, validatePosition(withTransfer({ postalIban: IBAN_POSTALE }), ctx));
  t.same([v.paymentOptions[0]!.transfers[0]!.iban, v.paymentOptions[0]!.transfers[0]!.postalIban], [null, IBAN_POSTALE], 'postal only');
  v = ok(t, validatePosition(withTransfer({ iban: IBAN_COMUNE, postalIban: IBAN_POSTALE }), ctx));
  t.same([v.paymentOptions[0]!.transfers[0]!.iban, v.paymentOptions[0]!.transfers[0]!.postalIban], [IBAN_COMUNE, IBAN_POSTALE], 'both');
  v = ok(t, validatePosition(withTransfer({ iban: IBAN_POSTALE }), ctx));
  t.equal(v.paymentOptions[0]!.transfers[0]!.iban, IBAN_POSTALE, 'postal IBAN in the iban field');

  const stamp = { hashDocument: SHA256_B64, stampType: '01', provincialResidence: 'cb' };
  v = ok(t, validatePosition(withTransfer({ stamp }), ctx));
  t.same(v.paymentOptions[0]!.transfers[0]!.stamp, { hashDocument: SHA256_B64, stampType: '01', provincialResidence: 'CB' });
  t.equal(v.paymentOptions[0]!.transfers[0]!.iban, null);

  expectFields(t, validatePosition(withTransfer({ stamp, iban: IBAN_COMUNE }), ctx), [`${f}.stamp`], 'stamp + IBAN');
  expectFields(t, validatePosition(withTransfer({ stamp, postalIban: IBAN_POSTALE }), ctx), [`${f}.stamp`], 'stamp + postal');
  expectFields(t, validatePosition(withTransfer({ stamp: { ...stamp, stampType: '02' } }), ctx), [`${f}.stamp.stampType`]);
  expectFields(t, validatePosition(withTransfer({ stamp: { ...stamp, hashDocument: 'not base64!' } }), ctx), [`${f}.stamp.hashDocument`]);
  expectFields(t, validatePosition(withTransfer({ stamp: { ...stamp, hashDocument: 'QUJD' + 'A'.repeat(72) } }), ctx), [`${f}.stamp.hashDocument`], '> 72');
  expectFields(t, validatePosition(withTransfer({ stamp: { ...stamp, provincialResidence: 'Campobasso' } }), ctx), [`${f}.stamp.provincialResidence`]);
  expectFields(t, validatePosition(withTransfer({ stamp: { stampType: '01' } }), ctx), [`${f}.stamp.hashDocument`, `${f}.stamp.provincialResidence`]);
  // A stamp can only be requested by the issuing ente; the province may still get another transfer.
  const other = withTransfer({ stamp, fiscalCodePA: PROVINCIA });
  other.paymentOptions[0].amountCents = 13650;
  other.paymentOptions[0].transfers.push({ amountCents: 1600, iban: IBAN_COMUNE, remittanceInformation: 'x', taxonomyCode: '9/0201102IM/' });
  expectFields(t, validatePosition(other, ctx), [`${f}.fiscalCodePA`], 'stamp for another ente');
});

t.test('IBANs must be registered when the context says so', async (t) => {
  const registered = new Set([`${COMUNE}:${IBAN_COMUNE}`]);
  const strict: ValidationContext = { ...ctx, isRegisteredIban: (cf, i) => registered.has(`${cf}:${i}`) };
  t.ok(validatePosition(basePosition(), strict).ok);
  const input = basePosition();
  input.paymentOptions[0].transfers[0].iban = IBAN_PROVINCIA;
  const errors = expectFields(t, validatePosition(input, strict), ['paymentOptions[0].transfers[0].iban']);
  t.match(errors[0]!.message, /non risulta registrato/);
});

t.test('taxonomy codes: [prefix/] 7 digits + motivo giuridico + "/"', async (t) => {
  for (const code of ['9/0101002IM/', '9/0101101IM/', '0101101IM/', '6/0201102TS/', '7/0101002SP/', '8/0301001SA/', '9/0101002AP/', '9/0101002im/']) {
    t.ok(isValidTaxonomyCode(code), code);
  }
  for (const code of ['9/010100200IM/', '9/0101002IM', '0101002IM', '9/0101002XX/', '5/0101002IM/', '90101002IM/', '9/010100IM/', '9//0101002IM/', '']) {
    t.notOk(isValidTaxonomyCode(code), code);
  }
  const input = basePosition();
  input.paymentOptions[0].transfers[0].taxonomyCode = '9/010110200IM/';
  const errors = expectFields(t, validatePosition(input, ctx), ['paymentOptions[0].transfers[0].taxonomyCode']);
  t.match(errors[0]!.message, /9\/0101101IM\//, 'shows an example');
  delete input.paymentOptions[0].transfers[0].taxonomyCode;
  expectFields(t, validatePosition(input, ctx), ['paymentOptions[0].transfers[0].taxonomyCode'], 'required');
});

t.test('transfer fields: beneficiary, causale, metadata', async (t) => {
  const f = 'paymentOptions[0].transfers[0]';
  let input = basePosition();
  input.paymentOptions[0].transfers[0].fiscalCodePA = '80000000012';
  expectFields(t, validatePosition(input, ctx), [`${f}.fiscalCodePA`], 'bad check digit');

  input = basePosition();
  input.paymentOptions[0].transfers[0].remittanceInformation = 'x'.repeat(141);
  expectFields(t, validatePosition(input, ctx), [`${f}.remittanceInformation`], 'causale > 140');
  input.paymentOptions[0].transfers[0].remittanceInformation = 'x'.repeat(140);
  t.ok(validatePosition(input, ctx).ok, 'causale of 140');
  input.paymentOptions[0].transfers[0].remittanceInformation = '   ';
  expectFields(t, validatePosition(input, ctx), [`${f}.remittanceInformation`], 'blank causale');

  input = basePosition();
  input.paymentOptions[0].transfers[0].metadata = [
    { key: 'a', value: '1' },
    { key: 'b', value: '2' },
  ];
  t.same(ok(t, validatePosition(input, ctx)).paymentOptions[0]!.transfers[0]!.metadata, [
    { key: 'a', value: '1' },
    { key: 'b', value: '2' },
  ]);
  input.paymentOptions[0].transfers[0].metadata = Object.fromEntries(Array.from({ length: 11 }, (_, k) => [`k${k}`, 'v']));
  expectFields(t, validatePosition(input, ctx), [`${f}.metadata`], 'more than 10');
  input.paymentOptions[0].transfers[0].metadata = [{ key: 'a', value: '' }];
  expectFields(t, validatePosition(input, ctx), [`${f}.metadata[0].value`], 'empty value');
  input.paymentOptions[0].transfers[0].metadata = [
    { key: 'a', value: '1' },
    { key: 'a', value: '2' },
  ];
  expectFields(t, validatePosition(input, ctx), [`${f}.metadata[1].key`], 'repeated key');
  input.paymentOptions[0].transfers[0].metadata = [{ key: 'k'.repeat(141), value: '1' }];
  expectFields(t, validatePosition(input, ctx), [`${f}.metadata[0].key`], 'key > 140');
});

t.test('debtor', async (t) => {
  const withDebtor = (patch: Record<string, unknown>) => {
    const input = basePosition();
    Object.assign(input.debtor, patch);
    return input;
  };
  t.equal(ok(t, validatePosition(withDebtor({ fiscalCode: NICOLO, fullName: "Nicolò D'Aversa" }), ctx)).debtor.fullName, "Nicolò D'Aversa");
  t.ok(validatePosition(withDebtor({ fiscalCode: COMPANY }), ctx).ok, 'F with an 11-digit provisional code');
  t.ok(validatePosition(withDebtor({ type: 'G', fiscalCode: COMPANY, fullName: 'Edilizia Molisana S.r.l.' }), ctx).ok, 'G with partita IVA');

  const g16 = expectFields(t, validatePosition(withDebtor({ type: 'G', fiscalCode: PERSON }), ctx), ['debtor.fiscalCode']);
  t.match(g16[0]!.message, /tipo F/, 'suggests type F');
  expectFields(t, validatePosition(withDebtor({ type: 'G', fiscalCode: '01234567890' }), ctx), ['debtor.fiscalCode'], 'G bad check digit');
  expectFields(t, validatePosition(withDebtor({ fiscalCode: 'RSSMRA85T10A562T' }), ctx), ['debtor.fiscalCode'], 'F bad check char');
  expectFields(t, validatePosition(withDebtor({ fiscalCode: '' }), ctx), ['debtor.fiscalCode'], 'missing');
  expectFields(t, validatePosition(withDebtor({ fiscalCode: 'ANONIMO' }), ctx), ['debtor.fiscalCode'], 'ANONIMO');
  expectFields(t, validatePosition(withDebtor({ type: 'X' }), ctx), ['debtor.type']);
  expectFields(t, validatePosition(withDebtor({ type: undefined }), ctx), ['debtor.type']);
  expectFields(t, validatePosition(withDebtor({ fullName: 'x'.repeat(71) }), ctx), ['debtor.fullName']);
  t.ok(validatePosition(withDebtor({ fullName: 'x'.repeat(70) }), ctx).ok, 'name of 70');
  expectFields(t, validatePosition(withDebtor({ fullName: '' }), ctx), ['debtor.fullName']);
  expectFields(t, validatePosition(withDebtor({ streetName: 'x'.repeat(71) }), ctx), ['debtor.streetName']);
  expectFields(t, validatePosition(withDebtor({ civicNumber: 'x'.repeat(17) }), ctx), ['debtor.civicNumber']);
  expectFields(t, validatePosition(withDebtor({ city: 'x'.repeat(36) }), ctx), ['debtor.city']);
  expectFields(t, validatePosition(withDebtor({ postalCode: '8610' }), ctx), ['debtor.postalCode'], 'CAP of 4 digits');
  expectFields(t, validatePosition(withDebtor({ postalCode: '86100', country: 'IT', province: 'Campobasso' }), ctx), ['debtor.province']);
  expectFields(t, validatePosition(withDebtor({ country: 'ITA' }), ctx), ['debtor.country']);
  expectFields(t, validatePosition(withDebtor({ email: 'mario.rossi@' }), ctx), ['debtor.email']);
  expectFields(t, validatePosition(withDebtor({ email: 'mario rossi@example.it' }), ctx), ['debtor.email']);
  const foreign = ok(t, validatePosition(withDebtor({ country: 'gb', postalCode: 'SW1A 1AA', province: 'Greater London' }), ctx));
  t.same([foreign.debtor.country, foreign.debtor.postalCode, foreign.debtor.province], ['GB', 'SW1A 1AA', 'Greater London']);
  const input = basePosition();
  delete input.debtor;
  expectFields(t, validatePosition(input, ctx), ['debtor']);
});

t.test('position fields: iupd, description, validity date, text hygiene', async (t) => {
  const withPatch = (patch: Record<string, unknown>) => Object.assign(basePosition(), patch);
  expectFields(t, validatePosition(withPatch({ iupd: 'TARI 2025' }), ctx), ['iupd'], 'space');
  expectFields(t, validatePosition(withPatch({ iupd: 'x'.repeat(36) }), ctx), ['iupd'], '36 chars');
  t.ok(validatePosition(withPatch({ iupd: 'A.b_c-1'.padEnd(35, '9') }), ctx).ok, '35 chars');
  expectFields(t, validatePosition(withPatch({ description: undefined }), ctx), ['description']);
  expectFields(t, validatePosition(withPatch({ description: 'x'.repeat(141) }), ctx), ['description']);
  expectFields(t, validatePosition(withPatch({ description: 'TARI\u0000 2025' }), ctx), ['description'], 'control character');
  const broken = expectFields(t, validatePosition(withPatch({ description: 'Nicol\uFFFD' }), ctx), ['description'], 'replacement char');
  t.match(broken[0]!.message, /codifica/);
  t.equal(ok(t, validatePosition(withPatch({ description: 42 }), ctx)).description, '42', 'numbers are accepted as text');
  expectFields(t, validatePosition(withPatch({ description: { text: 'x' } }), ctx), ['description'], 'objects are not');
  expectFields(t, validatePosition(withPatch({ validityDate: '2025-02-30' }), ctx), ['validityDate']);
  const late = expectFields(t, validatePosition(withPatch({ validityDate: '2025-07-01' }), ctx), ['paymentOptions[0].dueDate']);
  t.match(late[0]!.message, /inizio validità/);
});

t.test('amounts', async (t) => {
  const withAmounts = (option: Record<string, unknown>, transfer: Record<string, unknown>) => {
    const input = basePosition();
    const o = input.paymentOptions[0];
    delete o.amountCents;
    delete o.transfers[0].amountCents;
    Object.assign(o, option);
    Object.assign(o.transfers[0], transfer);
    return input;
  };
  const cents = (r: PositionValidationResult) => (r.ok ? r.value.paymentOptions[0]!.amountCents : null);
  t.equal(cents(validatePosition(withAmounts({ amountEuro: '12,5' }, { amountEuro: '12.50' }), ctx)), 1250);
  t.equal(cents(validatePosition(withAmounts({ amountEuro: 12.5 }, { amountCents: 1250 }), ctx)), 1250, 'JSON euro number');
  t.equal(cents(validatePosition(withAmounts({ amountEuro: '€ 1.000' }, { amountCents: '100000' }), ctx)), 100000);
  t.equal(cents(validatePosition(withAmounts({ amountCents: 999_999_999 }, { amountCents: 999_999_999 }), ctx)), 999_999_999, 'maximum');

  const o = 'paymentOptions[0]';
  const tr = 'paymentOptions[0].transfers[0]';
  expectFields(t, validatePosition(withAmounts({ amountCents: 1_000_000_000 }, { amountCents: 1_000_000_000 }), ctx), [`${o}.amountCents`, `${tr}.amountCents`], 'over the maximum');
  expectFields(t, validatePosition(withAmounts({ amountCents: 0 }, { amountCents: 0 }), ctx), [`${o}.amountCents`, `${tr}.amountCents`], 'zero');
  expectFields(t, validatePosition(withAmounts({ amountEuro: '-5' }, { amountEuro: '0,00' }), ctx), [`${o}.amountEuro`, `${tr}.amountEuro`], 'negative and zero euro');
  expectFields(t, validatePosition(withAmounts({ amountCents: 12.5 }, { amountCents: 12 }), ctx), [`${o}.amountCents`], 'fractional cents');
  expectFields(t, validatePosition(withAmounts({ amountEuro: '12,345' }, { amountCents: 1234 }), ctx), [`${o}.amountEuro`], 'three decimals');
  expectFields(t, validatePosition(withAmounts({ amountEuro: 1.234 }, { amountCents: 123 }), ctx), [`${o}.amountEuro`], 'three decimals as number');
  expectFields(t, validatePosition(withAmounts({ amountCents: 100, amountEuro: '1,00' }, { amountCents: 100 }), ctx), [`${o}.amountCents`], 'both forms');
  expectFields(t, validatePosition(withAmounts({}, { amountCents: 100 }), ctx), [`${o}.amountCents`], 'missing');
});

t.test('dates', async (t) => {
  t.equal(parseDateInput('2025-06-16'), '2025-06-16');
  t.equal(parseDateInput('16/06/2025'), '2025-06-16');
  t.equal(parseDateInput('1/2/2025'), '2025-02-01');
  t.equal(parseDateInput('29/02/2024'), '2024-02-29', 'leap year');
  for (const bad of ['29/02/2025', '31/04/2025', '2025-13-01', '2025-00-10', '2025-6-16', '16-06-2025', '16/06/25', '', 'domani', '2025-06-16T00:00:00Z']) {
    t.equal(parseDateInput(bad), null, bad);
  }
  const o = 'paymentOptions[0]';
  let input = basePosition();
  input.paymentOptions[0].dueDate = '31/06/2025';
  const bad = expectFields(t, validatePosition(input, ctx), [`${o}.dueDate`]);
  t.match(bad[0]!.message, /gg\/mm\/aaaa/);
  input.paymentOptions[0].dueDate = undefined;
  expectFields(t, validatePosition(input, ctx), [`${o}.dueDate`], 'required');

  input = basePosition();
  input.paymentOptions[0].retentionDate = '2025-06-15';
  expectFields(t, validatePosition(input, ctx), [`${o}.retentionDate`], 'retention before due date');
  input.paymentOptions[0].retentionDate = '16/06/2025';
  t.equal(ok(t, validatePosition(input, ctx)).paymentOptions[0]!.retentionDate, '2025-06-16', 'retention on the due date');

  input = basePosition();
  expectFields(t, validatePosition(input, { ...ctx, today: '2025-06-17' }), [`${o}.dueDate`], 'past due date');
  t.ok(validatePosition(input, { ...ctx, today: '2025-06-16' }).ok, 'due today');
});

function installment(n: number | undefined, dueDate: string, amountCents = 5000, plan?: string): Record<string, unknown> {
  return {
    isInstallment: true,
    ...(n === undefined ? {} : { installmentNumber: n }),
    ...(plan === undefined ? {} : { plan }),
    amountCents,
    dueDate,
    transfers: [{ amountCents, iban: IBAN_COMUNE, remittanceInformation: `Rata ${n ?? ''}`, taxonomyCode: '9/0201102IM/' }],
  };
}

function single(dueDate: string, amountCents = 10000): Record<string, unknown> {
  return {
    amountCents,
    dueDate,
    transfers: [{ amountCents, iban: IBAN_COMUNE, remittanceInformation: 'Unica soluzione', taxonomyCode: '9/0201102IM/' }],
  };
}

t.test('installment plans', async (t) => {
  const withOptions = (...options: Record<string, unknown>[]) => Object.assign(basePosition(), { paymentOptions: options });

  // single payment + a plan of three (SANP "opzione totale e piano rateale")
  let v = ok(t, validatePosition(withOptions(single('2025-05-31', 15000), installment(undefined, '2025-05-31'), installment(undefined, '2025-07-31'), installment(undefined, '2025-09-30')), ctx));
  t.same(
    v.paymentOptions.map((o) => [o.kind, o.plan, o.installmentNumber, o.installmentCount]),
    [
      ['single', null, null, null],
      ['installment', '1', 1, 3],
      ['installment', '1', 2, 3],
      ['installment', '1', 3, 3],
    ],
  );

  // explicit numbers in any order: numbering follows the numbers, not the array
  v = ok(t, validatePosition(withOptions(installment(2, '2025-09-30'), installment(1, '2025-06-30')), ctx));
  t.same(v.paymentOptions.map((o) => o.installmentNumber), [2, 1]);

  // form values
  v = ok(t, validatePosition(withOptions({ ...installment('1' as unknown as number, '2025-06-30'), isInstallment: 'on' }, { ...installment('2' as unknown as number, '2025-07-30'), isInstallment: 'true' }), ctx));
  t.same(v.paymentOptions.map((o) => o.installmentNumber), [1, 2]);

  // two plans (SANP "molteplici piani rateali")
  v = ok(t, validatePosition(withOptions(installment(1, '2025-06-30', 5000, 'A'), installment(2, '2025-07-30', 5000, 'A'), installment(1, '2025-06-30', 3400, 'B'), installment(2, '2025-07-30', 3300, 'B'), installment(3, '2025-08-30', 3300, 'B')), ctx));
  t.same(v.paymentOptions.map((o) => `${o.plan}${o.installmentNumber}/${o.installmentCount}`), ['A1/2', 'A2/2', 'B1/3', 'B2/3', 'B3/3']);

  const one = expectFields(t, validatePosition(withOptions(single('2025-05-31'), installment(1, '2025-06-30')), ctx), ['paymentOptions[1].isInstallment'], 'one installment');
  t.match(one[0]!.message, /almeno 2 rate/);

  const order = expectFields(t, validatePosition(withOptions(installment(1, '2025-06-30'), installment(2, '2025-06-30'), installment(3, '2025-05-30')), ctx), ['paymentOptions[1].dueDate', 'paymentOptions[2].dueDate'], 'not strictly increasing');
  t.match(order[0]!.message, /rata 2/);

  expectFields(t, validatePosition(withOptions(installment(1, '2025-06-30'), installment(1, '2025-07-30')), ctx), ['paymentOptions[1].installmentNumber'], 'duplicate number');
  const gap = expectFields(t, validatePosition(withOptions(installment(1, '2025-06-30'), installment(3, '2025-07-30')), ctx), ['paymentOptions[0].installmentNumber'], 'gap');
  t.match(gap[0]!.message, /manca la rata 2/);
  expectFields(t, validatePosition(withOptions(installment(1, '2025-06-30'), installment(undefined, '2025-07-30')), ctx), ['paymentOptions[1].installmentNumber'], 'mixed numbering');
  expectFields(t, validatePosition(withOptions(installment(0, '2025-06-30'), installment(1, '2025-07-30')), ctx), ['paymentOptions[0].installmentNumber'], 'number 0');
  expectFields(t, validatePosition(withOptions({ ...single('2025-06-30'), plan: 'A' }), ctx), ['paymentOptions[0].plan'], 'plan on a single payment');
  expectFields(t, validatePosition(withOptions({ ...single('2025-06-30'), installmentNumber: 1 }), ctx), ['paymentOptions[0].installmentNumber'], 'number on a single payment');
  expectFields(t, validatePosition(withOptions({ ...installment(1, '2025-06-30'), plan: 'piano A' }, installment(2, '2025-07-30')), ctx), ['paymentOptions[0].plan'], 'bad plan key');
  expectFields(t, validatePosition(withOptions({ ...single('2025-06-30'), isInstallment: 'forse' }), ctx), ['paymentOptions[0].isInstallment'], 'bad flag');

  // several single payments need different due dates (reduced amount if paid early)
  t.ok(validatePosition(withOptions(single('2025-06-05', 7000), single('2025-08-01', 10000)), ctx).ok);
  expectFields(t, validatePosition(withOptions(single('2025-06-05', 7000), single('2025-06-05', 10000)), ctx), ['paymentOptions[1].dueDate'], 'same due date');

  // sum error names the installment
  const bad = withOptions(installment(1, '2025-06-30'), installment(2, '2025-07-30'));
  (bad.paymentOptions[1] as any).amountCents = 5001;
  const sum = expectFields(t, validatePosition(bad, ctx), ['paymentOptions[1].transfers']);
  t.match(sum[0]!.message, /opzione di pagamento n\. 2 \(rata 2\)/);
});

t.test('every problem is reported at once', async (t) => {
  const input = basePosition();
  input.debtor.fiscalCode = 'RSSMRA85T10A562X';
  input.description = '';
  input.paymentOptions = [
    { ...single('2025-06-30'), transfers: [{ amountCents: 10000, iban: 'IT00', remittanceInformation: 'x', taxonomyCode: '9/0201102IM/' }] },
    single('2025-07-30', 9000),
  ];
  (input.paymentOptions[1].transfers as any)[0].amountCents = 8000;
  (input.paymentOptions[1].transfers as any)[0].taxonomyCode = 'TARI';
  expectFields(t, validatePosition(input, ctx), [
    'debtor.fiscalCode',
    'description',
    'paymentOptions[0].transfers[0].iban',
    'paymentOptions[1].transfers',
    'paymentOptions[1].transfers[0].taxonomyCode',
  ]);
});

t.test('structural garbage does not throw', async (t) => {
  for (const input of [null, undefined, 42, 'x', []]) {
    expectFields(t, validatePosition(input, ctx), [''], JSON.stringify(input));
  }
  expectFields(t, validatePosition({ ...basePosition(), paymentOptions: 'x' }, ctx), ['paymentOptions']);
  expectFields(t, validatePosition({ ...basePosition(), paymentOptions: [] }, ctx), ['paymentOptions']);
  expectFields(t, validatePosition({ ...basePosition(), paymentOptions: [null] }, ctx), ['paymentOptions[0]']);
  const many = Array.from({ length: 101 }, (_, k) => single(`2026-01-01`, 100 + k));
  expectFields(t, validatePosition({ ...basePosition(), paymentOptions: many }, ctx), ['paymentOptions'], 'more than 100 options');
  const input = basePosition();
  input.paymentOptions[0].transfers = [null];
  expectFields(t, validatePosition(input, ctx), ['paymentOptions[0].transfers[0]']);
  t.throws(() => validatePosition(basePosition(), { enteFiscalCode: '123' }), RangeError, 'bad context');
});
