/**
 * The response conformance cases of spid.md §11.2 (AgID spid-saml-check test-suite-1) and §11.3
 * (spid-sp-test extras: XSW, XSLT, XXE), plus a few more attacks, as one table shared by the
 * validator-level test (response-validator.test.ts, fixed clock) and the route-level test
 * (acs-conformance.test.ts, real AuthnRequest through /spid/login and POST /spid/acs).
 *
 * Each case forges a Response with the built-in test IdP (`buildResponse` variants: DOM changes
 * before signing, no or foreign signatures, text changes after signing), really signed.
 * `expect` is 'accept' or the rejection code of `validateSpidResponse`.
 */
import type t from 'tap';
import { DOMParser, XMLSerializer, type Node as XmldomNode } from '@xmldom/xmldom';
import type { BuildResponseParams, ResponseVariant } from '../../src/simulators/spid-idp/idp.js';
import { SPID_ERROR_MESSAGES, type ValidationResult } from '../../src/modules/spid/response-validator.js';
import { signEnveloped, NS, type SigningKeyPair } from '../../src/modules/spid/saml.js';
import { CITIZEN, IDP_ENTITY_ID, at, empty, remove, setAttr, setText } from './helpers.js';

export const OTHER_ENTITY = 'https://evil.example.org';

export interface ConformanceKeys {
  /** The IdP's own keys (in its metadata). */
  idp: SigningKeyPair;
  /** A key pair that is not in the IdP metadata. */
  evil: SigningKeyPair;
  /** The IdP entityID (case 112/113 EntityDescriptor). Default the validator tests' IdP. */
  idpEntityId?: string;
}

export interface Case {
  id: string;
  name: string;
  /** 'accept' or the expected rejection code. */
  expect: string;
  level?: 1 | 2 | 3;
  /** Requested level (default 2). */
  requested?: 1 | 2 | 3;
  variant?: ResponseVariant;
  params?: Partial<BuildResponseParams>;
  /** Extra assertion on the result. */
  check?: (t: Test, r: ValidationResult) => void;
  /** Asserted against `reason` when the rejection happens at the XSD step. */
  reason?: RegExp;
}
export type Test = Pick<typeof t, 'ok' | 'equal' | 'match'>;

const mut = (fn: (d: Document) => void): ResponseVariant => ({ mutate: fn });
const R = (d: Document, ...p: string[]) => at(d, 'Response', ...p);
const A = (d: Document, ...p: string[]) => at(d, 'Response', 'Assertion', ...p);
const both = (name: string, value: string | null) => (d: Document) => {
  setAttr(R(d), name, value);
  setAttr(A(d, 'Subject', 'SubjectConfirmation', 'SubjectConfirmationData'), name, value);
};
const SCD = (d: Document) => A(d, 'Subject', 'SubjectConfirmation', 'SubjectConfirmationData');

/** Applies a DOM change to the already signed XML (signature-wrapping style forgeries). */
function postDom(fn: (d: Document) => void): (xml: string) => string {
  return (xml) => {
    const d = new DOMParser().parseFromString(xml, 'text/xml') as unknown as Document;
    fn(d);
    return new XMLSerializer().serializeToString(d as unknown as XmldomNode);
  };
}
const clone = (el: Element) => el.cloneNode(true) as Element;
const stripSignatures = (el: Element) => {
  for (const s of Array.from(el.getElementsByTagNameNS(NS.ds, 'Signature'))) remove(s);
};

/** Every case, with its forgeries bound to these keys. */
export function responseConformanceCases(k: ConformanceKeys): Case[] {
  const idpEntityId = k.idpEntityId ?? IDP_ENTITY_ID;
  const cases: Case[] = [
    { id: '1', name: 'Response corretta (SpidL1 requested, SessionIndex present)', expect: 'accept', requested: 1,
      check: (t, r) => { t.ok(r.ok && r.sessionIndex, 'SessionIndex kept for L1'); } },
    { id: '1-NS', name: 'Response corretta senza SessionIndex (SpidL2)', expect: 'accept',
      check: (t, r) => {
        t.ok(r.ok);
        if (!r.ok) return;
        t.equal(r.sessionIndex, null);
        t.equal(r.user.fiscalNumber, CITIZEN.fiscalNumber, 'TINIT- stripped');
        t.equal(r.user.name, 'Mario');
        t.equal(r.user.familyName, 'Rossi');
        t.equal(r.user.email, CITIZEN.email);
        t.equal(r.level, 2);
        t.equal(r.nameQualifier, IDP_ENTITY_ID);
        t.equal(r.notOnOrAfter.toISOString(), '2026-11-26T10:05:20.000Z');
      } },
    { id: '2', name: 'Response non firmata', expect: 'ASSERTION_NOT_SIGNED', variant: { signAssertion: false, signResponse: false } },
    { id: '3', name: 'Assertion non firmata', expect: 'ASSERTION_NOT_SIGNED', variant: { signAssertion: false } },
    { id: '4', name: 'Firma non valida (key not in metadata)', expect: 'RESPONSE_SIGNATURE_INVALID', variant: { signingKeys: k.evil } },
    { id: '8', name: 'Response ID non specificato', expect: 'XSD_INVALID', reason: /'ID'/, variant: mut((d) => setAttr(R(d), 'ID', '')) },
    { id: '9', name: 'Response ID mancante', expect: 'XSD_INVALID', reason: /'ID' is required/, variant: mut((d) => setAttr(R(d), 'ID', null)) },
    { id: '10', name: 'Response Version diverso da 2.0', expect: 'RESPONSE_VERSION', variant: mut((d) => setAttr(R(d), 'Version', '1.0')) },
    { id: '11', name: 'Response IssueInstant non specificato', expect: 'XSD_INVALID', reason: /IssueInstant/, variant: mut((d) => setAttr(R(d), 'IssueInstant', '')) },
    { id: '12', name: 'Response IssueInstant mancante', expect: 'XSD_INVALID', reason: /IssueInstant/, variant: mut((d) => setAttr(R(d), 'IssueInstant', null)) },
    { id: '13', name: 'Formato IssueInstant non corretto', expect: 'XSD_INVALID', reason: /IssueInstant/, variant: mut((d) => setAttr(R(d), 'IssueInstant', '2018-09-04')) },
    { id: '14', name: 'IssueInstant precedente Request', expect: 'RESPONSE_ISSUE_INSTANT_BEFORE_REQUEST', variant: mut((d) => setAttr(R(d), 'IssueInstant', '2018-01-01T00:00:00Z')) },
    { id: '15', name: 'IssueInstant successivo Request', expect: 'RESPONSE_ISSUE_INSTANT_FUTURE', variant: mut((d) => setAttr(R(d), 'IssueInstant', '2099-01-01T00:00:00Z')) },
    { id: '16', name: 'InResponseTo non specificato', expect: 'XSD_INVALID', reason: /InResponseTo/, variant: mut(both('InResponseTo', '')) },
    { id: '17', name: 'InResponseTo mancante', expect: 'IN_RESPONSE_TO_MISSING', variant: mut(both('InResponseTo', null)) },
    { id: '18', name: 'InResponseTo diverso da Request', expect: 'IN_RESPONSE_TO_MISMATCH', variant: mut(both('InResponseTo', '_another0123456789')) },
    { id: '19', name: 'Destination non specificato', expect: 'DESTINATION_MISSING', variant: mut((d) => setAttr(R(d), 'Destination', '')) },
    { id: '20', name: 'Destination mancante', expect: 'DESTINATION_MISSING', variant: mut((d) => setAttr(R(d), 'Destination', null)) },
    { id: '21', name: 'Destination diverso da ACS URL', expect: 'DESTINATION_MISMATCH', variant: mut((d) => setAttr(R(d), 'Destination', 'https://other.example.org/acs')) },
    { id: '22', name: 'Elemento Status non specificato', expect: 'XSD_INVALID', reason: /Status/, variant: mut((d) => empty(R(d, 'Status'))) },
    { id: '23', name: 'Elemento Status mancante', expect: 'XSD_INVALID', reason: /Status/, variant: mut((d) => remove(R(d, 'Status'))) },
    { id: '24', name: 'StatusCode non specificato', expect: 'STATUS_MISSING', variant: mut((d) => setAttr(R(d, 'Status', 'StatusCode'), 'Value', '')) },
    { id: '25', name: 'StatusCode mancante (Status vuoto)', expect: 'XSD_INVALID', reason: /Status/, variant: mut((d) => empty(R(d, 'Status'))) },
    { id: '26', name: 'StatusCode diverso da success (non valido)', expect: 'STATUS_NOT_SUCCESS', variant: mut((d) => setAttr(R(d, 'Status', 'StatusCode'), 'Value', 'urn:oasis:names:tc:SAML:2.0:status:statuscodenonvalido')),
      check: (t, r) => { t.ok(!r.ok && /Riprova/.test(r.userMessage), 'error page text'); } },
    { id: '27', name: 'Response Issuer non specificato', expect: 'RESPONSE_ISSUER_MISSING', variant: mut((d) => setText(R(d, 'Issuer'), '')) },
    { id: '28', name: 'Response Issuer mancante (Assertion Issuer vuoto, Response non firmata)', expect: 'RESPONSE_ISSUER_MISSING',
      variant: { signResponse: false, mutate: (d) => { remove(R(d, 'Issuer')); setText(A(d, 'Issuer'), ''); } } },
    { id: '29', name: 'Response Issuer diverso da EntityID IdP', expect: 'RESPONSE_ISSUER_MISMATCH', variant: mut((d) => setText(R(d, 'Issuer'), OTHER_ENTITY)) },
    { id: '30', name: 'Response Issuer Format diverso', expect: 'RESPONSE_ISSUER_FORMAT', variant: mut((d) => setAttr(R(d, 'Issuer'), 'Format', 'urn:oasis:names:tc:SAML:2.0:nameid-format:unspecified')) },
    { id: '31', name: 'Response Issuer Format omesso', expect: 'accept', variant: mut((d) => setAttr(R(d, 'Issuer'), 'Format', null)) },
    { id: '32', name: 'Assertion mancante con Success', expect: 'ASSERTION_MISSING', variant: mut((d) => remove(R(d, 'Assertion'))) },
    { id: '33', name: 'Assertion ID non specificato', expect: 'XSD_INVALID', reason: /'ID'/, variant: mut((d) => setAttr(A(d), 'ID', '')) },
    { id: '34', name: 'Assertion ID mancante', expect: 'XSD_INVALID', reason: /'ID' is required/, variant: mut((d) => setAttr(A(d), 'ID', null)) },
    { id: '35', name: 'Assertion Version diverso da 2.0', expect: 'ASSERTION_VERSION', variant: mut((d) => setAttr(A(d), 'Version', '1.0')) },
    { id: '36', name: 'Assertion IssueInstant non specificato', expect: 'XSD_INVALID', reason: /IssueInstant/, variant: mut((d) => setAttr(A(d), 'IssueInstant', '')) },
    { id: '37', name: 'Assertion IssueInstant mancante', expect: 'XSD_INVALID', reason: /IssueInstant/, variant: mut((d) => setAttr(A(d), 'IssueInstant', null)) },
    { id: '38', name: 'Assertion IssueInstant formato non corretto', expect: 'XSD_INVALID', reason: /IssueInstant/, variant: mut((d) => setAttr(A(d), 'IssueInstant', '2018-09-06 16:00')) },
    { id: '39', name: 'Assertion IssueInstant precedente Request', expect: 'ASSERTION_ISSUE_INSTANT_BEFORE_REQUEST', variant: mut((d) => setAttr(A(d), 'IssueInstant', '2000-01-01T12:00:00Z')) },
    { id: '40', name: 'Assertion IssueInstant successivo', expect: 'ASSERTION_ISSUE_INSTANT_FUTURE', variant: mut((d) => setAttr(A(d), 'IssueInstant', '2099-01-01T00:00:00Z')) },
    { id: '41', name: 'Subject non specificato', expect: 'XSD_INVALID', reason: /Subject/, variant: mut((d) => empty(A(d, 'Subject'))) },
    { id: '42', name: 'Subject mancante', expect: 'SUBJECT_MISSING', variant: mut((d) => remove(A(d, 'Subject'))) },
    { id: '43', name: 'NameID non specificato', expect: 'NAMEID_MISSING', variant: mut((d) => { setText(A(d, 'Subject', 'NameID'), ''); setAttr(A(d, 'Subject', 'NameID'), 'NameQualifier', ''); }) },
    { id: '44', name: 'NameID mancante', expect: 'NAMEID_MISSING', variant: mut((d) => remove(A(d, 'Subject', 'NameID'))) },
    { id: '45', name: 'NameID Format non specificato', expect: 'NAMEID_FORMAT', variant: mut((d) => setAttr(A(d, 'Subject', 'NameID'), 'Format', '')) },
    { id: '46', name: 'NameID Format mancante', expect: 'NAMEID_FORMAT', variant: mut((d) => setAttr(A(d, 'Subject', 'NameID'), 'Format', null)) },
    { id: '47', name: 'NameID Format diverso', expect: 'NAMEID_FORMAT', variant: mut((d) => setAttr(A(d, 'Subject', 'NameID'), 'Format', 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent')) },
    { id: '48', name: 'NameQualifier non specificato', expect: 'NAMEID_QUALIFIER_MISSING', variant: mut((d) => setAttr(A(d, 'Subject', 'NameID'), 'NameQualifier', '')) },
    { id: '49', name: 'NameQualifier mancante', expect: 'NAMEID_QUALIFIER_MISSING', variant: mut((d) => setAttr(A(d, 'Subject', 'NameID'), 'NameQualifier', null)) },
    { id: '51', name: 'SubjectConfirmation non specificato', expect: 'SUBJECT_CONFIRMATION_DATA_MISSING', variant: mut((d) => empty(A(d, 'Subject', 'SubjectConfirmation'))) },
    { id: '52', name: 'SubjectConfirmation mancante', expect: 'SUBJECT_CONFIRMATION_MISSING', variant: mut((d) => remove(A(d, 'Subject', 'SubjectConfirmation'))) },
    { id: '53', name: 'Method non specificato', expect: 'SUBJECT_CONFIRMATION_METHOD', variant: mut((d) => setAttr(A(d, 'Subject', 'SubjectConfirmation'), 'Method', '')) },
    { id: '54', name: 'Method mancante', expect: 'XSD_INVALID', reason: /Method/, variant: mut((d) => setAttr(A(d, 'Subject', 'SubjectConfirmation'), 'Method', null)) },
    { id: '55', name: 'Method diverso', expect: 'SUBJECT_CONFIRMATION_METHOD', variant: mut((d) => setAttr(A(d, 'Subject', 'SubjectConfirmation'), 'Method', 'urn:oasis:names:tc:SAML:2.0:cm:holder-of-key')) },
    { id: '56', name: 'SubjectConfirmationData mancante', expect: 'SUBJECT_CONFIRMATION_DATA_MISSING', variant: mut((d) => remove(SCD(d))) },
    { id: '57', name: 'Recipient non specificato', expect: 'RECIPIENT_MISSING', variant: mut((d) => setAttr(SCD(d), 'Recipient', '')) },
    { id: '58', name: 'Recipient mancante', expect: 'RECIPIENT_MISSING', variant: mut((d) => setAttr(SCD(d), 'Recipient', null)) },
    { id: '59', name: 'Recipient diverso', expect: 'RECIPIENT_MISMATCH', variant: mut((d) => setAttr(SCD(d), 'Recipient', 'https://other.example.org/acs')) },
    { id: '60', name: 'SCD InResponseTo non specificato', expect: 'XSD_INVALID', reason: /InResponseTo/, variant: mut((d) => setAttr(SCD(d), 'InResponseTo', '')) },
    { id: '61', name: 'SCD InResponseTo mancante', expect: 'SCD_IN_RESPONSE_TO_MISSING', variant: mut((d) => setAttr(SCD(d), 'InResponseTo', null)) },
    { id: '62', name: 'SCD InResponseTo diverso', expect: 'SCD_IN_RESPONSE_TO_MISMATCH', variant: mut((d) => setAttr(SCD(d), 'InResponseTo', '_another0123456789')) },
    { id: '63', name: 'SCD NotOnOrAfter non specificato', expect: 'XSD_INVALID', reason: /NotOnOrAfter/, variant: mut((d) => setAttr(SCD(d), 'NotOnOrAfter', '')) },
    { id: '64', name: 'SCD NotOnOrAfter mancante', expect: 'SCD_NOT_ON_OR_AFTER_INVALID', variant: mut((d) => setAttr(SCD(d), 'NotOnOrAfter', null)) },
    { id: '65', name: 'SCD NotOnOrAfter formato non corretto', expect: 'XSD_INVALID', reason: /NotOnOrAfter/, variant: mut((d) => setAttr(SCD(d), 'NotOnOrAfter', '2018.09.18')) },
    { id: '66', name: 'SCD NotOnOrAfter scaduto', expect: 'SCD_EXPIRED', variant: mut((d) => setAttr(SCD(d), 'NotOnOrAfter', '2000-01-01T00:00:00Z')) },
    { id: '67', name: 'Assertion Issuer non specificato', expect: 'ASSERTION_ISSUER_MISSING', variant: mut((d) => setText(A(d, 'Issuer'), '')) },
    { id: '68', name: 'Assertion Issuer mancante', expect: 'XSD_INVALID', reason: /Issuer/, variant: mut((d) => remove(A(d, 'Issuer'))) },
    { id: '69', name: 'Assertion Issuer diverso', expect: 'ASSERTION_ISSUER_MISMATCH', variant: mut((d) => setText(A(d, 'Issuer'), OTHER_ENTITY)) },
    { id: '70', name: 'Assertion Issuer Format non specificato', expect: 'ASSERTION_ISSUER_FORMAT', variant: mut((d) => setAttr(A(d, 'Issuer'), 'Format', '')) },
    { id: '71', name: 'Assertion Issuer Format mancante', expect: 'ASSERTION_ISSUER_FORMAT', variant: mut((d) => setAttr(A(d, 'Issuer'), 'Format', null)) },
    { id: '72', name: 'Assertion Issuer Format diverso', expect: 'ASSERTION_ISSUER_FORMAT', variant: mut((d) => setAttr(A(d, 'Issuer'), 'Format', 'urn:oasis:names:tc:SAML:2.0:nameid-format:unspecified')) },
    { id: '73', name: 'Conditions non specificato', expect: 'AUDIENCE_MISSING', variant: mut((d) => empty(A(d, 'Conditions'))) },
    { id: '74', name: 'Conditions mancante', expect: 'CONDITIONS_MISSING', variant: mut((d) => remove(A(d, 'Conditions'))) },
    { id: '75', name: 'NotBefore non specificato', expect: 'XSD_INVALID', reason: /NotBefore/, variant: mut((d) => setAttr(A(d, 'Conditions'), 'NotBefore', '')) },
    { id: '76', name: 'NotBefore mancante', expect: 'CONDITIONS_NOT_BEFORE_INVALID', variant: mut((d) => setAttr(A(d, 'Conditions'), 'NotBefore', null)) },
    { id: '77', name: 'NotBefore formato non corretto', expect: 'XSD_INVALID', reason: /NotBefore/, variant: mut((d) => setAttr(A(d, 'Conditions'), 'NotBefore', '2018/09/10')) },
    { id: '78', name: 'NotBefore futuro', expect: 'CONDITIONS_NOT_YET_VALID', variant: mut((d) => setAttr(A(d, 'Conditions'), 'NotBefore', '2099-01-01T00:00:00Z')) },
    { id: '79', name: 'Conditions NotOnOrAfter non specificato', expect: 'XSD_INVALID', reason: /NotOnOrAfter/, variant: mut((d) => setAttr(A(d, 'Conditions'), 'NotOnOrAfter', '')) },
    { id: '80', name: 'Conditions NotOnOrAfter mancante', expect: 'CONDITIONS_NOT_ON_OR_AFTER_INVALID', variant: mut((d) => setAttr(A(d, 'Conditions'), 'NotOnOrAfter', null)) },
    { id: '81', name: 'Conditions NotOnOrAfter formato non corretto', expect: 'XSD_INVALID', reason: /NotOnOrAfter/, variant: mut((d) => setAttr(A(d, 'Conditions'), 'NotOnOrAfter', '10-09-2018')) },
    { id: '82', name: 'Conditions NotOnOrAfter scaduto', expect: 'CONDITIONS_EXPIRED', variant: mut((d) => setAttr(A(d, 'Conditions'), 'NotOnOrAfter', '2000-01-01T00:00:00Z')) },
    { id: '83', name: 'AudienceRestriction non specificato', expect: 'XSD_INVALID', reason: /AudienceRestriction/, variant: mut((d) => empty(A(d, 'Conditions', 'AudienceRestriction'))) },
    { id: '84', name: 'AudienceRestriction mancante', expect: 'AUDIENCE_MISSING', variant: mut((d) => remove(A(d, 'Conditions', 'AudienceRestriction'))) },
    { id: '85', name: 'Audience non specificato', expect: 'AUDIENCE_MISSING', variant: mut((d) => setText(A(d, 'Conditions', 'AudienceRestriction', 'Audience'), '')) },
    { id: '86', name: 'Audience mancante', expect: 'XSD_INVALID', reason: /AudienceRestriction/, variant: mut((d) => remove(A(d, 'Conditions', 'AudienceRestriction', 'Audience'))) },
    { id: '87', name: 'Audience diverso da SP entityID', expect: 'AUDIENCE_MISMATCH', variant: mut((d) => setText(A(d, 'Conditions', 'AudienceRestriction', 'Audience'), OTHER_ENTITY)) },
    { id: '88', name: 'AuthnStatement non specificato', expect: 'XSD_INVALID', reason: /AuthnStatement/, variant: mut((d) => empty(A(d, 'AuthnStatement'))) },
    { id: '89', name: 'AuthnStatement mancante', expect: 'AUTHN_STATEMENT_MISSING', variant: mut((d) => { remove(A(d, 'AuthnStatement')); remove(A(d, 'AttributeStatement')); }) },
    { id: '90', name: 'AuthnContext non specificato', expect: 'XSD_INVALID', reason: /AuthnContext/, variant: mut((d) => empty(A(d, 'AuthnStatement', 'AuthnContext'))) },
    { id: '91', name: 'AuthnContext mancante', expect: 'XSD_INVALID', reason: /AuthnStatement/, variant: mut((d) => remove(A(d, 'AuthnStatement', 'AuthnContext'))) },
    { id: '92', name: 'AuthnContextClassRef non specificato', expect: 'AUTHN_CONTEXT_CLASS_REF_INVALID', variant: mut((d) => setText(A(d, 'AuthnStatement', 'AuthnContext', 'AuthnContextClassRef'), '')) },
    { id: '93', name: 'AuthnContextClassRef mancante', expect: 'XSD_INVALID', reason: /AuthnContext/, variant: mut((d) => remove(A(d, 'AuthnStatement', 'AuthnContext', 'AuthnContextClassRef'))) },
    { id: '94', name: 'SpidL1 with SpidL2 minimum requested', expect: 'LEVEL_TOO_LOW', level: 1 },
    { id: '95', name: 'SpidL2 with SpidL2 minimum requested', expect: 'accept', level: 2 },
    { id: '96', name: 'SpidL3 with SpidL2 minimum requested', expect: 'accept', level: 3, check: (t, r) => { t.equal(r.ok && r.level, 3); } },
    { id: '97', name: 'AuthnContextClassRef non previsto (urn:oasis:...:SpidL1)', expect: 'AUTHN_CONTEXT_CLASS_REF_INVALID',
      variant: mut((d) => setText(A(d, 'AuthnStatement', 'AuthnContext', 'AuthnContextClassRef'), 'urn:oasis:names:tc:SAML:2.0:ac:classes:SpidL1')) },
    { id: '98', name: 'AttributeStatement senza Attribute', expect: 'XSD_INVALID', reason: /AttributeStatement/, variant: mut((d) => empty(A(d, 'AttributeStatement'))) },
    { id: '99', name: 'Attribute senza AttributeValue', expect: 'ATTRIBUTE_VALUE_MISSING',
      variant: mut((d) => { const st = A(d, 'AttributeStatement'); empty(st); const a = d.createElementNS(NS.saml, 'saml:Attribute'); a.setAttribute('Name', 'spidCode'); st.appendChild(a); }) },
    { id: '100', name: 'Firma diversa (Assertion and Response, key not in metadata)', expect: 'RESPONSE_SIGNATURE_INVALID', variant: { signingKeys: k.evil } },
    { id: '100b', name: 'Firma diversa on the Assertion only (Response unsigned)', expect: 'ASSERTION_SIGNATURE_INVALID', variant: { signingKeys: k.evil, signResponse: false } },
    { id: '103', name: 'Set di attributi diverso (spidCode + address): SP choice = reject', expect: 'FISCAL_NUMBER_MISSING',
      params: { attributes: ['spidCode', 'address'], user: { ...CITIZEN, spidCode: 'SAEL0000000001', address: 'Via Roma 1 86100 Campobasso CB' } } },
    ...([[104, 19], [105, 20], [106, 21], [107, 22], [108, 23], [111, 25], ['111b', 30]] as const).map(([id, code]): Case => ({
      id: String(id), name: `Anomalia utente ErrorCode nr${code}`, expect: 'IDP_AUTHN_ERROR', params: { errorCode: code },
      check: (t, r) => {
        t.equal(!r.ok && r.spidErrorCode, code);
        t.equal(!r.ok && r.userMessage, SPID_ERROR_MESSAGES[code]);
        t.equal(!r.ok && r.httpStatus, 403);
      },
    })),
    { id: '109', name: 'Attributi senza NameFormat', expect: 'accept', variant: { omitNameFormat: true } },
    { id: '110', name: 'IssueInstant con millisecondi', expect: 'accept', variant: { milliseconds: true } },
    { id: '110b', name: 'IssueInstant senza millisecondi', expect: 'accept', variant: { milliseconds: false } },
    { id: '112', name: 'XSW: signed EntityDescriptor in Response, Response signed with untrusted key, Assertion unsigned', expect: 'XSD_INVALID', reason: /EntityDescriptor/,
      variant: { signingKeys: k.evil, signAssertion: false, mutate: (d) => insertSignedEntityDescriptor(d) } },
    { id: '113', name: 'XSW: as 112 with the Assertion signed by the untrusted key', expect: 'XSD_INVALID', reason: /EntityDescriptor/,
      variant: { signingKeys: k.evil, mutate: (d) => insertSignedEntityDescriptor(d) } },
    // ---- spid-sp-test extra cases (§11.3)
    { id: 'sp-test 5', name: 'untrusted key, its certificate in KeyInfo (Response and Assertion)', expect: 'RESPONSE_SIGNATURE_INVALID', variant: { signingKeys: k.evil } },
    { id: 'sp-test 5b', name: 'untrusted key in KeyInfo, Assertion only', expect: 'ASSERTION_SIGNATURE_INVALID', variant: { signingKeys: k.evil, signResponse: false } },
    { id: 'xsw1', name: 'copy of the Response inside the Signature, Assertion signature removed', expect: 'XSD_INVALID', reason: /xs:ID/,
      variant: { postSign: postDom((d) => {
        const sig = R(d, 'Signature');
        const copy = clone(d.documentElement!);
        copy.setAttribute('ID', '_evilresponse1');
        stripSignatures(copy);
        const obj = d.createElementNS(NS.ds, 'ds:Object');
        obj.appendChild(copy);
        sig.appendChild(obj);
        remove(A(d, 'Signature'));
      }) } },
    { id: 'xsw2', name: 'copy of the Response before the signature, its Assertion with new ID and unsigned', expect: 'XSD_INVALID', reason: /Response/,
      variant: { postSign: postDom((d) => {
        const copy = clone(d.documentElement!);
        copy.setAttribute('ID', '_evilresponse2');
        stripSignatures(copy);
        const ca = Array.from(copy.getElementsByTagNameNS(NS.saml, 'Assertion'))[0]!;
        ca.setAttribute('ID', '_evilassertion2');
        d.documentElement!.insertBefore(copy, R(d, 'Signature'));
      }) } },
    { id: 'xsw3', name: 'unsigned copy of the Assertion (new ID) before the original', expect: 'ASSERTION_MULTIPLE',
      variant: { postSign: postDom((d) => {
        const orig = A(d);
        const copy = clone(orig);
        copy.setAttribute('ID', '_evilassertion3');
        stripSignatures(copy);
        d.documentElement!.insertBefore(copy, orig);
      }) } },
    { id: 'xsw4', name: 'signed Assertion moved inside an unsigned evil Assertion (Advice)', expect: 'ASSERTION_MULTIPLE',
      variant: { postSign: postDom((d) => {
        const orig = A(d);
        const evil = clone(orig);
        evil.setAttribute('ID', '_evilassertion4');
        stripSignatures(evil);
        const advice = d.createElementNS(NS.saml, 'saml:Advice');
        advice.appendChild(orig.cloneNode(true));
        const authn = Array.from(evil.childNodes).find((n) => (n as Element).localName === 'AuthnStatement')!;
        evil.insertBefore(advice, authn);
        d.documentElement!.replaceChild(evil, orig);
      }) } },
    { id: 'xsw5', name: 'signed Assertion given a new ID, unsigned copy with the original ID', expect: 'ASSERTION_MULTIPLE',
      variant: { postSign: postDom((d) => {
        const orig = A(d);
        const copy = clone(orig);
        stripSignatures(copy);
        setText(Array.from(copy.getElementsByTagNameNS(NS.saml, 'AttributeValue'))[0]!, 'TINIT-BNCGPP85T10B519O');
        orig.setAttribute('ID', '_movedassertion5');
        d.documentElement!.appendChild(copy);
      }) } },
    { id: 'xsw6', name: 'unsigned evil Assertion inside the original Assertion Signature', expect: 'XSD_INVALID', reason: /Assertion/,
      variant: { postSign: postDom((d) => {
        const evil = clone(A(d));
        evil.setAttribute('ID', '_evilassertion6');
        stripSignatures(evil);
        A(d, 'Signature').appendChild(evil);
      }) } },
    { id: 'xsw7', name: 'unsigned copy of the Assertion inside samlp:Extensions', expect: 'ASSERTION_MULTIPLE',
      variant: { postSign: postDom((d) => {
        const evil = clone(A(d));
        evil.setAttribute('ID', '_evilassertion7');
        stripSignatures(evil);
        const ext = d.createElementNS(NS.samlp, 'samlp:Extensions');
        ext.appendChild(evil);
        d.documentElement!.insertBefore(ext, R(d, 'Status'));
      }) } },
    { id: 'xsw8', name: 'unsigned copy of the Assertion inside ds:Object of the Assertion Signature', expect: 'ASSERTION_MULTIPLE',
      variant: { postSign: postDom((d) => {
        const evil = clone(A(d));
        evil.setAttribute('ID', '_evilassertion8');
        stripSignatures(evil);
        const obj = d.createElementNS(NS.ds, 'ds:Object');
        obj.appendChild(evil);
        A(d, 'Signature').appendChild(obj);
      }) } },
    { id: 'xslt', name: 'XSLT Transform inserted into the Assertion Signature', expect: 'ASSERTION_SIGNATURE_INVALID',
      variant: { signResponse: false, postSign: postDom((d) => {
        const transforms = A(d, 'Signature', 'SignedInfo', 'Reference', 'Transforms');
        const tr = d.createElementNS(NS.ds, 'ds:Transform');
        tr.setAttribute('Algorithm', 'http://www.w3.org/TR/1999/REC-xslt-19991116');
        transforms.appendChild(tr);
      }) } },
    { id: 'xxe', name: 'DOCTYPE with an external entity', expect: 'XML_DTD_FORBIDDEN',
      variant: { postSign: (xml) => `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>${xml}` } },
    // ---- more attacks and edge cases named in the issue
    { id: 'comment-nameid', name: 'comment inside NameID after signing: the signed value (comments stripped) is used', expect: 'accept',
      variant: { postSign: (xml) => xml.replace(/(<saml:NameID[^>]*>_[0-9a-f]{8})/, '$1<!--x-->') },
      check: (t, r) => { t.match(r.ok && r.nameId, /^_[0-9a-f]{32}$/, 'whole NameID, not the first text node'); } },
    { id: 'comment-cf', name: 'comment splitting the fiscalNumber: the full signed value is read', expect: 'accept',
      variant: { postSign: (xml) => xml.replace('TINIT-RSSMRA', 'TINIT-RSSMRA<!---->') },
      check: (t, r) => { t.equal(r.ok && r.user.fiscalNumber, CITIZEN.fiscalNumber); } },
    { id: 'tamper-after-sign', name: 'attribute value changed after signing', expect: 'RESPONSE_SIGNATURE_INVALID',
      variant: { postSign: (xml) => xml.replace('TINIT-RSSMRA80A01B519K', 'TINIT-BNCGPP85T10B519O') } },
    { id: 'tamper-after-sign-b', name: 'attribute value changed after signing (Response unsigned)', expect: 'ASSERTION_SIGNATURE_INVALID',
      variant: { signResponse: false, postSign: (xml) => xml.replace('TINIT-RSSMRA80A01B519K', 'TINIT-BNCGPP85T10B519O') } },
    { id: 'other-sp', name: 'a Response addressed to another SP', expect: 'DESTINATION_MISMATCH',
      params: { acsUrl: 'https://other-sp.example.org/acs', spEntityId: 'https://other-sp.example.org' } },
    { id: 'other-sp-audience', name: 'Audience of another SP (Destination/Recipient ours)', expect: 'AUDIENCE_MISMATCH', params: { spEntityId: 'https://other-sp.example.org' } },
    { id: 'cf-not-personal', name: 'fiscalNumber of a legal person', expect: 'FISCAL_NUMBER_INVALID', params: { user: { ...CITIZEN, fiscalNumber: '80001590709' } } },
    { id: 'cf-bad-check', name: 'fiscalNumber with a wrong check letter', expect: 'FISCAL_NUMBER_INVALID', params: { user: { ...CITIZEN, fiscalNumber: 'RSSMRA80A01B519Q' } } },
    { id: 'sha1', name: 'Assertion signed with rsa-sha1 (no SHA-1 allowed)', expect: 'ASSERTION_SIGNATURE_INVALID', reason: /rsa-sha1/ },
  ];

  /** Case 112/113 template: a separately signed EntityDescriptor as the first child of the Response. */
  function insertSignedEntityDescriptor(d: Document) {
    const ed = `<md:EntityDescriptor xmlns:md="${NS.md}" entityID="${idpEntityId}" ID="_ed112"><md:Extensions/></md:EntityDescriptor>`;
    const signed = signEnveloped(ed, k.idp, { id: '_ed112', localName: 'EntityDescriptor', placement: 'firstChild' });
    const node = new DOMParser().parseFromString(signed, 'text/xml').documentElement!;
    d.documentElement!.insertBefore(d.importNode(node as unknown as Node, true), d.documentElement!.firstChild);
  }

  // sha1: sign the assertion with rsa-sha1 ourselves.
  cases.find((c) => c.id === 'sha1')!.variant = {
    signAssertion: false,
    signResponse: false,
    postSign: (xml) => {
      const id = /<saml:Assertion\b[^>]*\sID="([^"]+)"/.exec(xml)![1]!;
      return signEnveloped(xml, k.idp, {
        id,
        localName: 'Assertion',
        placement: 'afterIssuer',
        signatureAlgorithm: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
        digestAlgorithm: 'http://www.w3.org/2000/09/xmldsig#sha1',
      });
    },
  };
  return cases;
}
