import t from 'tap';
import {
  isValidNumericFiscalCode,
  isValidPersonalFiscalCode,
  normaliseFiscalCode,
  numericFiscalCodeFromBase,
  personalCheckChar,
} from '../../src/domain/fiscal-code.js';

t.test('numeric fiscal codes (partita IVA algorithm)', async (t) => {
  // Real, public codes: Agenzia delle Entrate (06363391001), Comune di Roma (02438750586).
  t.ok(isValidNumericFiscalCode('06363391001'));
  t.ok(isValidNumericFiscalCode('02438750586'));
  t.notOk(isValidNumericFiscalCode('06363391002'), 'wrong check digit');
  t.notOk(isValidNumericFiscalCode('0636339100'), '10 digits');
  t.notOk(isValidNumericFiscalCode('0636339100A'), 'letter');
  const built = numericFiscalCodeFromBase('9000700100');
  t.equal(built.length, 11);
  t.ok(isValidNumericFiscalCode(built));
});

t.test('personal codice fiscale', async (t) => {
  // The well-known example code of the Agenzia delle Entrate documentation.
  t.equal(personalCheckChar('RSSMRA85T10A562'), 'S');
  t.ok(isValidPersonalFiscalCode('RSSMRA85T10A562S'));
  t.ok(isValidPersonalFiscalCode('rssmra85t10a562s'), 'case-insensitive');
  t.notOk(isValidPersonalFiscalCode('RSSMRA85T10A562T'), 'wrong check letter');
  t.notOk(isValidPersonalFiscalCode('RSSMRA85X10A562S'), 'month letter X does not exist');
  // Omocodia: 0 -> L in the last numeric position, with the recomputed check letter.
  const omocode = 'RSSMRA85T10A56N';
  t.ok(isValidPersonalFiscalCode(omocode + personalCheckChar(omocode)));
  t.equal(normaliseFiscalCode('  rssmra85t10a562s '), 'RSSMRA85T10A562S');
  t.equal(normaliseFiscalCode('12345'), null);
});
