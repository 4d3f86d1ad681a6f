import t from 'tap';
import {
  MAX_IUV_SEQUENCE,
  NOTICE_NUMBER_MESSAGES,
  buildIuv,
  buildNoticeNumber,
  checkDigits,
  formatNoticeNumber,
  isAssignableSegregationCode,
  isValidIuv,
  iuvFromNoticeNumber,
  iuvSequence,
  noticeNumberFromIuv,
  parseNoticeNumber,
  qrPayload,
  type NoticeNumberErrorCode,
} from '../../src/modules/positions/numbers.js';

/** Independent oracle: mod 93 by Horner's method on plain numbers (no BigInt). */
function mod93(digits: string): number {
  let r = 0;
  for (const d of digits) r = (r * 10 + Number(d)) % 93;
  return r;
}

/** Small deterministic PRNG (LCG) for reproducible "random" sequence numbers. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

function randomSequence(next: () => number): bigint {
  // 13 random digits (uniform enough for a round-trip test)
  let digits = '';
  while (digits.length < 13) digits += String(next() % 10);
  return BigInt(digits);
}

t.test('worked example of pagopa.md §6', async (t) => {
  t.equal(checkDigits('3012025000000042'), '28');
  t.equal(buildIuv('01', 2025000000042n), '01202500000004228');
  t.equal(buildIuv('01', 2025000000042), '01202500000004228', 'number and bigint agree');
  t.equal(buildNoticeNumber('01', 2025000000042n), '301202500000004228');
  t.equal(noticeNumberFromIuv('01202500000004228'), '301202500000004228');
  t.equal(iuvFromNoticeNumber('301202500000004228'), '01202500000004228');
  t.equal(iuvSequence('01202500000004228'), 2025000000042n);
  t.ok(isValidIuv('01202500000004228'));
  t.notOk(isValidIuv('01202500000004229'));
  const parsed = parseNoticeNumber('301202500000004228');
  t.same(parsed, {
    ok: true,
    noticeNumber: '301202500000004228',
    auxDigit: 3,
    iuv: '01202500000004228',
    segregationCode: '01',
    applicationCode: null,
  });
});

t.test('check digits: every remainder is left-padded to two digits and matches the oracle', async (t) => {
  // Walk consecutive sequence numbers: the 16-digit prefix grows by 1 each time, so the remainder
  // goes through all 93 values (00..92) within 93 steps.
  const seen = new Map<string, bigint>();
  for (let seq = 0n; seq < 93n; seq++) {
    const iuv = buildIuv('07', seq);
    const check = iuv.slice(15);
    t.equal(check.length, 2);
    t.equal(Number(check), mod93('307' + iuv.slice(2, 15)), `seq ${seq}`);
    seen.set(check, seq);
  }
  t.equal(seen.size, 93, 'all 93 remainders produced');
  t.ok(seen.has('00'), 'remainder 0 → "00"');
  t.ok(seen.has('05'), 'one-digit remainder is padded');
  t.ok(seen.has('92'), 'largest remainder');
  t.notOk([...seen.keys()].some((c) => Number(c) > 92));

  // Explicit values computed by the oracle
  const zeroSeq = seen.get('00')!;
  t.equal(mod93('307' + zeroSeq.toString().padStart(13, '0')), 0);
  t.equal(checkDigits('0000000000000000'), '00');
  t.equal(checkDigits('0000000000000092'), '92');
  t.equal(checkDigits('0000000000000093'), '00');
  t.equal(checkDigits('0000000000000100'), '07');
  t.equal(checkDigits('9999999999999999'), String(mod93('9999999999999999')).padStart(2, '0'));
  t.equal(checkDigits('3459999999999999'), String(mod93('3459999999999999')).padStart(2, '0'));
});

t.test('checkDigits rejects anything but 16 digits', async (t) => {
  for (const bad of ['', '301202500000004', '30120250000000422', '301202500000004a', ' 3012025000000042', '-012025000000042']) {
    t.throws(() => checkDigits(bad), RangeError, JSON.stringify(bad));
  }
});

t.test('round trips over many sequence numbers and segregation codes', async (t) => {
  const next = lcg(20250601);
  const sequences: bigint[] = [0n, 1n, 9n, 10n, 92n, 93n, 999n, 2025000000042n, MAX_IUV_SEQUENCE - 1n, MAX_IUV_SEQUENCE];
  for (let k = 0; k < 2000; k++) sequences.push(randomSequence(next));
  const segs = ['00', '01', '12', '33', '45', '49'];
  let count = 0;
  for (const [k, seq] of sequences.entries()) {
    const seg = segs[k % segs.length]!;
    const iuv = buildIuv(seg, seq);
    const nav = noticeNumberFromIuv(iuv);
    const ok =
      iuv.length === 17 &&
      nav.length === 18 &&
      nav === buildNoticeNumber(seg, seq) &&
      iuv.startsWith(seg) &&
      iuvSequence(iuv) === seq &&
      Number(iuv.slice(15)) === mod93('3' + iuv.slice(0, 15)) &&
      iuvFromNoticeNumber(nav) === iuv &&
      isValidIuv(iuv);
    const parsed = parseNoticeNumber(formatNoticeNumber(nav));
    if (!ok || !parsed.ok || parsed.iuv !== iuv || parsed.segregationCode !== seg || parsed.noticeNumber !== nav) {
      t.fail(`round trip failed for seg ${seg} seq ${seq}`);
    } else count++;
  }
  t.equal(count, sequences.length, `${count} round trips`);
});

t.test('distinct sequence numbers give distinct IUVs', async (t) => {
  const iuvs = new Set<string>();
  for (let seq = 0; seq < 5000; seq++) iuvs.add(buildIuv('02', seq));
  t.equal(iuvs.size, 5000);
});

t.test('buildIuv boundaries', async (t) => {
  t.equal(buildIuv('00', 0), '00' + '0'.repeat(13) + checkDigits('300' + '0'.repeat(13)));
  t.equal(buildIuv('45', MAX_IUV_SEQUENCE).slice(2, 15), '9999999999999');
  t.throws(() => buildIuv('01', -1), RangeError, 'negative');
  t.throws(() => buildIuv('01', -1n), RangeError, 'negative bigint');
  t.throws(() => buildIuv('01', MAX_IUV_SEQUENCE + 1n), RangeError, '14 digits');
  t.throws(() => buildIuv('01', 10_000_000_000_000), RangeError, '14 digits as number');
  t.throws(() => buildIuv('01', 1.5), RangeError, 'fraction');
  t.throws(() => buildIuv('01', Number.NaN), RangeError, 'NaN');
  t.throws(() => buildIuv('01', Number.POSITIVE_INFINITY), RangeError, 'infinity');
  t.throws(() => buildIuv('01', 2 ** 60), RangeError, 'unsafe integer');
});

t.test('segregation codes', async (t) => {
  for (const ok of ['00', '01', '09', '10', '45', '46', '48', '49']) {
    t.ok(isAssignableSegregationCode(ok), ok);
    t.doesNotThrow(() => buildIuv(ok, 1), ok);
  }
  for (const bad of ['47', '50', '81', '85', '96', '97', '98', '99', '1', '001', 'ab', '', ' 1', '4a']) {
    t.notOk(isAssignableSegregationCode(bad), JSON.stringify(bad));
    t.throws(() => buildIuv(bad, 1), RangeError, JSON.stringify(bad));
  }
});

t.test('noticeNumberFromIuv and iuvFromNoticeNumber', async (t) => {
  t.throws(() => noticeNumberFromIuv('0120250000000422'), RangeError, '16 digits');
  t.throws(() => noticeNumberFromIuv('01202500000004229'), RangeError, 'wrong check digits');
  t.equal(noticeNumberFromIuv('01202500000004229', { verifyCheckDigit: false }), '301202500000004229');
  t.throws(() => noticeNumberFromIuv('0120250000000422x', { verifyCheckDigit: false }), RangeError);

  // legacy layouts of §6
  t.equal(iuvFromNoticeNumber('012123456789012345'), '123456789012345', 'aux 0 drops the application code');
  t.equal(iuvFromNoticeNumber('112345678901234567'), '12345678901234567', 'aux 1');
  t.equal(iuvFromNoticeNumber('212345678901234567'), '12345678901234567', 'aux 2');
  t.throws(() => iuvFromNoticeNumber('412345678901234567'), RangeError, 'aux 4');
  t.throws(() => iuvFromNoticeNumber('30120250000000422'), RangeError, '17 digits');
  t.throws(() => iuvSequence('0120250000000422'), RangeError);
});

t.test('parseNoticeNumber accepts what citizens type', async (t) => {
  for (const typed of [
    '301202500000004228',
    '3012 0250 0000 0042 28',
    '  3012-0250-0000-0042-28 ',
    '3012\u00a00250\u00a00000\u00a00042\u00a028',
    '3012\t0250 0000 0042\n28',
    '30120 25000 00004 228',
    '3012\u20130250\u20130000\u20130042\u201328',
  ]) {
    const r = parseNoticeNumber(typed);
    t.ok(r.ok && r.noticeNumber === '301202500000004228', JSON.stringify(typed));
  }
});

t.test('parseNoticeNumber errors, each with its code and an Italian message', async (t) => {
  const cases: [string, NoticeNumberErrorCode][] = [
    ['', 'EMPTY'],
    ['   ', 'EMPTY'],
    [' - - ', 'EMPTY'],
    ['abc', 'NOT_DIGITS'],
    ['3012 0250 0000 0042 2X', 'NOT_DIGITS'],
    ['3012.0250.0000.0042.28', 'NOT_DIGITS'],
    ['+301202500000004228', 'NOT_DIGITS'],
    ['30120250000000422', 'WRONG_LENGTH'],
    ['3012025000000042288', 'WRONG_LENGTH'],
    ['3', 'WRONG_LENGTH'],
    ['001202500000004228', 'UNSUPPORTED_AUX'],
    ['101202500000004228', 'UNSUPPORTED_AUX'],
    ['201202500000004228', 'UNSUPPORTED_AUX'],
    ['401202500000004228', 'UNSUPPORTED_AUX'],
    ['901202500000004228', 'UNSUPPORTED_AUX'],
    ['301202500000004229', 'WRONG_CHECK_DIGIT'],
    ['301202500000004328', 'WRONG_CHECK_DIGIT'],
    ['302000000000000000', 'WRONG_CHECK_DIGIT'],
  ];
  for (const [input, code] of cases) {
    const r = parseNoticeNumber(input);
    if (r.ok) {
      t.fail(`${JSON.stringify(input)} should fail with ${code}`);
      continue;
    }
    t.equal(r.code, code, JSON.stringify(input));
    t.match(r.message, /codice avviso/i, 'message speaks of the "codice avviso"');
  }
  const short = parseNoticeNumber('3012 0250 0000 0042 2');
  t.ok(!short.ok && /ne hai inserite 17/.test(short.message), 'tells how many digits were typed');
  const one = parseNoticeNumber('3');
  t.ok(!one.ok && /ne hai inserita 1\b/.test(one.message), 'singular');
  const messages = new Set(Object.values(NOTICE_NUMBER_MESSAGES));
  t.equal(messages.size, 5, 'one distinct message per code');
});

t.test('parseNoticeNumber options for notices coming from the node', async (t) => {
  // PagoPA test notices (302…) carry no valid check digits: accepted when not verifying.
  const lenient = parseNoticeNumber('302000000000000000', { verifyCheckDigit: false });
  t.ok(lenient.ok && lenient.iuv === '02000000000000000' && lenient.segregationCode === '02');

  // Legacy aux digits only on request, still verified where they have check digits.
  const aux0Prefix = '0' + '12' + '1234567890123';
  const aux0 = aux0Prefix + checkDigits(aux0Prefix);
  t.equal(parseNoticeNumber(aux0).ok, false, 'aux 0 refused by default');
  const r0 = parseNoticeNumber(aux0, { allowLegacyAux: true });
  t.same(r0, {
    ok: true,
    noticeNumber: aux0,
    auxDigit: 0,
    iuv: aux0.slice(3),
    segregationCode: null,
    applicationCode: '12',
  });
  const aux2Prefix = '2' + '123456789012345';
  const aux2 = aux2Prefix + checkDigits(aux2Prefix);
  const r2 = parseNoticeNumber(aux2, { allowLegacyAux: true });
  t.ok(r2.ok && r2.auxDigit === 2 && r2.iuv === aux2.slice(1));
  const bad2 = parseNoticeNumber(aux2Prefix + (checkDigits(aux2Prefix) === '00' ? '01' : '00'), { allowLegacyAux: true });
  t.ok(!bad2.ok && bad2.code === 'WRONG_CHECK_DIGIT');
  const r1 = parseNoticeNumber('112345678901234599', { allowLegacyAux: true });
  t.ok(r1.ok && r1.auxDigit === 1 && r1.iuv === '12345678901234599', 'aux 1 has no check digits');
  const r4 = parseNoticeNumber('412345678901234599', { allowLegacyAux: true, verifyCheckDigit: false });
  t.ok(!r4.ok && r4.code === 'UNSUPPORTED_AUX');
});

t.test('formatNoticeNumber', async (t) => {
  const f = formatNoticeNumber('301202500000004228');
  t.equal(f, '3012 0250 0000 0042 28');
  t.equal(f.length, 22);
  t.equal(formatNoticeNumber('301000000000012345'), '3010 0000 0000 0123 45', 'example of ui-conventions.md');
  t.throws(() => formatNoticeNumber('30120250000000422'), RangeError);
  t.throws(() => formatNoticeNumber('3012 0250 0000 0042 28'), RangeError, 'already formatted');
});

t.test('qrPayload', async (t) => {
  t.equal(qrPayload('301202500000004228', '01234567890', 12050), 'PAGOPA|002|301202500000004228|01234567890|12050', 'example of §7');
  t.equal(qrPayload('301202500000004228', '01234567890', 5), 'PAGOPA|002|301202500000004228|01234567890|05', 'at least 2 digits');
  t.equal(qrPayload('301202500000004228', '01234567890', 9_999_999_999), 'PAGOPA|002|301202500000004228|01234567890|9999999999');
  t.throws(() => qrPayload('301202500000004228', '01234567890', 10_000_000_000), RangeError, '11 digits');
  t.throws(() => qrPayload('301202500000004228', '01234567890', 0), RangeError, 'zero');
  t.throws(() => qrPayload('301202500000004228', '01234567890', -100), RangeError, 'negative');
  t.throws(() => qrPayload('301202500000004228', '01234567890', 120.5), RangeError, 'not cents');
  t.throws(() => qrPayload('301202500000004229', '01234567890', 100), RangeError, 'wrong check digits');
  t.throws(() => qrPayload('3012 0250 0000 0042 28', '01234567890', 100), RangeError, 'formatted NAV');
  t.throws(() => qrPayload('30120250000000422', '01234567890', 100), RangeError, 'short NAV');
  t.throws(() => qrPayload('301202500000004228', '1234567890', 100), RangeError, '10-digit CF');
  t.throws(() => qrPayload('301202500000004228', 'RSSMRA85T10A562S', 100), RangeError, 'personal CF');
  t.throws(() => qrPayload('301202500000004228', '0123456789|', 100), RangeError, 'pipe injection');
});
