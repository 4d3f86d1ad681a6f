import t from 'tap';
import { ibanCheckDigits, isPostalIban, isValidIban, normaliseIban, postalAccountNumber } from '../../src/domain/iban.js';
import { centsToDecimalString, formatEuro, parseEuroToCents } from '../../src/domain/money.js';

t.test('IBAN', async (t) => {
  // Example IBAN published in the ECBS/SWIFT registry for Italy.
  t.ok(isValidIban('IT60X0542811101000000123456'));
  t.ok(isValidIban('it60 x054 2811 1010 0000 0123 456'), 'spaces and case tolerated');
  t.notOk(isValidIban('IT61X0542811101000000123456'), 'check digits');
  t.notOk(isValidIban('IT60X054281110100000012345'), 'Italian length');
  t.notOk(isValidIban('IT6010542811101000000123456'), 'CIN must be a letter');
  t.ok(isValidIban('DE89370400440532013000'), 'foreign IBAN');
  t.equal(normaliseIban(' it60 x054 '), 'IT60X054');
  const bban = 'X0760103200001234567890';
  const postal = `IT${ibanCheckDigits('IT', bban)}${bban}`;
  t.ok(isValidIban(postal));
  t.ok(isPostalIban(postal));
  t.equal(postalAccountNumber(postal), '001234567890');
  t.notOk(isPostalIban('IT60X0542811101000000123456'));
  t.throws(() => postalAccountNumber('IT60X0542811101000000123456'));
});

t.test('money in integer cents', async (t) => {
  t.equal(parseEuroToCents('12,50'), 1250);
  t.equal(parseEuroToCents('1.234,56'), 123456);
  t.equal(parseEuroToCents('12.5'), 1250);
  t.equal(parseEuroToCents('12'), 1200);
  t.equal(parseEuroToCents('€ 7,05'), 705);
  t.equal(parseEuroToCents('12,345'), null, 'three decimals');
  t.equal(parseEuroToCents('-5'), null);
  t.equal(parseEuroToCents('abc'), null);
  t.equal(parseEuroToCents('1.23.4'), null);
  t.equal(formatEuro(123456).replace(/\s/g, ' '), '1.234,56 €');
  t.equal(centsToDecimalString(12050), '120.50');
  t.equal(centsToDecimalString(5), '0.05');
  t.throws(() => formatEuro(1.5));
  t.throws(() => centsToDecimalString(-1));
});
