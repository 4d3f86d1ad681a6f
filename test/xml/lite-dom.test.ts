import t from 'tap';
import { parseXmlLite } from '../../src/xml/lite-dom.js';
import { XmlSafeParseError } from '../../src/xml/safe-parse.js';
import { parseEnvelope, parseEnvelopeLite } from '../../src/modules/pagopa/soap.js';
import { readReceipt } from '../../src/modules/pagopa/receipts.js';
import { newReceiptId, sendRtRequest } from '../../src/simulators/pagopa/node-messages.js';

const codeOf = (f: () => unknown) => {
  try {
    f();
    return 'no error';
  } catch (e) {
    return e instanceof XmlSafeParseError ? e.code : `other: ${(e as Error).message}`;
  }
};

t.test('the lite tree has the DOM properties the SOAP readers use', async (t) => {
  const doc = parseXmlLite('<a:r xmlns:a="urn:x"><b>1 &amp; 2</b><!-- no --><c><![CDATA[<z>]]> ok</c><d/></a:r>');
  t.teardown(() => doc.dispose());
  const r = doc.documentElement;
  t.equal(r.localName, 'r');
  t.equal(r.namespaceURI, 'urn:x');
  const kids: Element[] = [];
  for (let n = r.firstChild; n; n = n.nextSibling) kids.push(n as Element);
  t.same(kids.map((k) => k.localName), ['b', 'c', 'd'], 'the comment is not a child');
  t.equal(kids[0]!.namespaceURI, null, 'unqualified child');
  t.equal(kids[0]!.textContent, '1 & 2', 'entities decoded');
  t.equal(kids[1]!.textContent, '<z> ok', 'CDATA is text');
  t.equal(kids[2]!.textContent, '');
  t.equal(r.textContent, '1 & 2<z> ok');
  t.equal(kids[0]!.firstChild!.nodeType, 3);
});

t.test('the same rules as the safe parser', async (t) => {
  t.equal(codeOf(() => parseXmlLite('<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>')), 'DTD_FORBIDDEN');
  t.equal(codeOf(() => parseXmlLite('<a><b></a>')), 'MALFORMED');
  t.equal(codeOf(() => parseXmlLite('<a/><b/>')), 'MALFORMED');
  t.equal(codeOf(() => parseXmlLite('   ')), 'EMPTY');
  t.equal(codeOf(() => parseXmlLite('<a>xxxxxxxxxx</a>', { maxBytes: 5 })), 'TOO_LARGE');
  t.equal(codeOf(() => parseXmlLite(new Uint8Array([0x3c, 0x61, 0x3e, 0xff, 0x3c, 0x2f, 0x61, 0x3e]))), 'ENCODING');
  t.equal(codeOf(() => parseXmlLite('<?xml version="1.0" encoding="ISO-8859-1"?><a/>')), 'ENCODING');
});

t.test('a receipt reads the same through the lite tree and through xmldom', async (t) => {
  const debtorXml =
    '<uniqueIdentifier><entityUniqueIdentifierType>F</entityUniqueIdentifierType><entityUniqueIdentifierValue>RSSMRA85T10A562S</entityUniqueIdentifierValue></uniqueIdentifier><fullName>Mario &amp; Rossi</fullName><e-mail>m@example.org</e-mail>';
  const xml = sendRtRequest(
    { idPA: '80000970702', idBrokerPA: '80000970702', idStation: '80000970702_01' },
    {
      v2: true,
      receiptId: newReceiptId(),
      noticeNumber: '301000000001234620',
      fiscalCode: '80000970702',
      data: {
        creditorReferenceId: '01000000001234620',
        paymentAmountCents: 12050,
        dueDate: '2026-12-31',
        description: 'TARI <2026>',
        companyName: 'Comune',
        debtorXml,
        debtorFiscalCode: 'RSSMRA85T10A562S',
        transfers: [
          { idTransfer: 1, amountCents: 10000, fiscalCodePA: '80000970702', iban: 'IT60X0542811101000000123456', remittanceInformation: 'TARI', transferCategory: '9/0101108TS/', metadata: [{ key: 'k', value: 'v' }] },
          { idTransfer: 2, amountCents: 2050, fiscalCodePA: '00071330705', iban: 'IT60X0542811101000000123457', remittanceInformation: 'TEFA', transferCategory: '9/0101108TS/', metadata: [] },
        ],
      },
    },
  );
  const receiptOf = (payload: Element) => {
    for (let n = payload.firstChild; n; n = n.nextSibling) if (n.nodeType === 1 && (n as Element).localName === 'receipt') return n as Element;
    throw new Error('no receipt');
  };
  const lite = parseEnvelopeLite(xml, 1 << 20);
  t.teardown(() => lite.native.dispose());
  const a = readReceipt(receiptOf(lite.payload));
  const b = readReceipt(receiptOf(parseEnvelope(xml, 1 << 20).payload));
  t.same(a, b);
  t.equal(a.debtor.fullName, 'Mario & Rossi');
  t.equal(a.description, 'TARI <2026>');
  t.equal(a.transfers.length, 2);
});
