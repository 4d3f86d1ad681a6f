/**
 * SPID/CIE ACS checks as a pure function (the clock and the replay cache are injected).
 *
 * Order (spid.md §3): safe parsing → XSD (SAML protocol) → Response Version/ID/IssueInstant →
 * InResponseTo → Destination → Issuer → Status → signatures (Assertion mandatory, Response if
 * present; only the IdP metadata certificates; exactly one Assertion; Reference = `#<its ID>`;
 * values then read ONLY from the canonical XML xml-crypto returns from `getSignedReferences()`) →
 * Assertion Version/ID/IssueInstant/Issuer → Subject/NameID/SubjectConfirmation → Conditions and
 * Audience → AuthnStatement level → attributes → assertion-ID replay.
 *
 * Every rejection has a stable `code`, a `reason` for the log and a `userMessage` in Italian.
 * The route answers a rejection with HTTP `httpStatus` (4xx), creates no session, logs `reason`.
 */
import { isValidPersonalFiscalCode } from '../../domain/fiscal-code.js';
import { parseXmlSafely, XmlSafeParseError, DEFAULT_MAX_XML_BYTES } from '../../xml/safe-parse.js';
import { getXsdSchema, type XsdSchema } from '../../xml/xsd.js';
import {
  CM_BEARER,
  NAMEID_ENTITY,
  NAMEID_TRANSIENT,
  NS,
  STATUS,
  XSD,
  attr,
  canonicalRootIs,
  childElements,
  descendantElements,
  levelFromClassRef,
  parseSamlInstant,
  textOf,
  verifyEnvelopedSignature,
  type AuthnComparison,
  type SpidLevel,
} from './saml.js';

/** What the SP stored when it sent the AuthnRequest. */
export interface ExpectedRequest {
  requestId: string;
  /** IssueInstant of the AuthnRequest (ISO string, Date or epoch ms). */
  issueInstant: string | Date | number;
  /** entityID of the IdP the request was sent to. */
  idpEntityId: string;
  level: SpidLevel;
  /** Default `minimum`. */
  comparison?: AuthnComparison;
  /** The ACS URL exactly as in the SP metadata. */
  acsUrl: string;
  spEntityId: string;
}

/** Certificates of that IdP, from the registry/metadata only (PEM or base64 DER). */
export interface IdpTrust {
  entityId: string;
  certificates: string[];
}

/**
 * Assertion-ID replay cache (DB-backed in the app). Return `true` when the ID was not seen and has
 * now been recorded (atomically), `false` when it was already used.
 */
export interface ReplayGuard {
  /** `now` is the validator's injected clock: a guard that purges old entries must use it, not the wall clock. */
  checkAndRecord(assertionId: string, expiresAt: Date, now: Date): boolean | Promise<boolean>;
}

export interface ResponseValidationOptions {
  now: Date;
  /** Allowed clock skew in ms, default 60 000 (spid.md §3.13: keep it ≤ 60–120 s). */
  clockSkewMs?: number;
  /** Size limit of the decoded XML, default 1 MiB. */
  maxBytes?: number;
  /** SAML protocol XSD path; default the shared SPID copy. */
  protocolXsdPath?: string;
}

export interface SpidUser {
  /** Personal codice fiscale, `TINIT-` stripped, upper case. */
  fiscalNumber: string;
  name: string | null;
  familyName: string | null;
  email: string | null;
  /** Every attribute received (first value, trimmed). */
  attributes: Record<string, string>;
}

export interface ValidationSuccess {
  ok: true;
  user: SpidUser;
  assertionId: string;
  /** Earliest of SubjectConfirmationData and Conditions NotOnOrAfter. */
  notOnOrAfter: Date;
  /** Only SpidL1 logins carry it. */
  sessionIndex: string | null;
  nameId: string;
  nameIdFormat: string;
  nameQualifier: string;
  level: SpidLevel;
  idpEntityId: string;
  responseId: string;
}

export interface ValidationFailure {
  ok: false;
  code: RejectionCode;
  /** For the log (never shown to the citizen). */
  reason: string;
  /** For the citizen, in Italian. */
  userMessage: string;
  /** Suggested HTTP status for the error page. */
  httpStatus: 400 | 403;
  /** SPID ErrorCode (19–30) when the IdP reported an authentication failure. */
  spidErrorCode?: number;
}

export type ValidationResult = ValidationSuccess | ValidationFailure;

export type RejectionCode =
  | 'RESPONSE_ENCODING'
  | 'XML_TOO_LARGE'
  | 'XML_DTD_FORBIDDEN'
  | 'XML_MALFORMED'
  | 'NOT_A_RESPONSE'
  | 'XSD_INVALID'
  | 'RESPONSE_ID_MISSING'
  | 'RESPONSE_VERSION'
  | 'RESPONSE_ISSUE_INSTANT_INVALID'
  | 'RESPONSE_ISSUE_INSTANT_BEFORE_REQUEST'
  | 'RESPONSE_ISSUE_INSTANT_FUTURE'
  | 'IN_RESPONSE_TO_MISSING'
  | 'IN_RESPONSE_TO_MISMATCH'
  | 'DESTINATION_MISSING'
  | 'DESTINATION_MISMATCH'
  | 'RESPONSE_ISSUER_MISSING'
  | 'RESPONSE_ISSUER_MISMATCH'
  | 'RESPONSE_ISSUER_FORMAT'
  | 'STATUS_MISSING'
  | 'STATUS_NOT_SUCCESS'
  | 'IDP_AUTHN_ERROR'
  | 'ASSERTION_MISSING'
  | 'ASSERTION_MULTIPLE'
  | 'ASSERTION_ENCRYPTED'
  | 'UNEXPECTED_SIGNATURE'
  | 'NO_TRUSTED_CERTIFICATE'
  | 'RESPONSE_SIGNATURE_INVALID'
  | 'ASSERTION_NOT_SIGNED'
  | 'ASSERTION_SIGNATURE_INVALID'
  | 'ASSERTION_ID_MISSING'
  | 'ASSERTION_VERSION'
  | 'ASSERTION_ISSUE_INSTANT_INVALID'
  | 'ASSERTION_ISSUE_INSTANT_BEFORE_REQUEST'
  | 'ASSERTION_ISSUE_INSTANT_FUTURE'
  | 'ASSERTION_ISSUER_MISSING'
  | 'ASSERTION_ISSUER_MISMATCH'
  | 'ASSERTION_ISSUER_FORMAT'
  | 'SUBJECT_MISSING'
  | 'NAMEID_MISSING'
  | 'NAMEID_FORMAT'
  | 'NAMEID_QUALIFIER_MISSING'
  | 'SUBJECT_CONFIRMATION_MISSING'
  | 'SUBJECT_CONFIRMATION_METHOD'
  | 'SUBJECT_CONFIRMATION_DATA_MISSING'
  | 'RECIPIENT_MISSING'
  | 'RECIPIENT_MISMATCH'
  | 'SCD_IN_RESPONSE_TO_MISSING'
  | 'SCD_IN_RESPONSE_TO_MISMATCH'
  | 'SCD_NOT_ON_OR_AFTER_INVALID'
  | 'SCD_EXPIRED'
  | 'CONDITIONS_MISSING'
  | 'CONDITIONS_NOT_BEFORE_INVALID'
  | 'CONDITIONS_NOT_YET_VALID'
  | 'CONDITIONS_NOT_ON_OR_AFTER_INVALID'
  | 'CONDITIONS_EXPIRED'
  | 'AUDIENCE_MISSING'
  | 'AUDIENCE_MISMATCH'
  | 'AUTHN_STATEMENT_MISSING'
  | 'AUTHN_CONTEXT_MISSING'
  | 'AUTHN_CONTEXT_CLASS_REF_INVALID'
  | 'LEVEL_TOO_LOW'
  | 'ATTRIBUTES_EMPTY'
  | 'ATTRIBUTE_VALUE_MISSING'
  | 'FISCAL_NUMBER_MISSING'
  | 'FISCAL_NUMBER_INVALID'
  | 'ASSERTION_REPLAYED';

// ---------------------------------------------------------------- messages for the citizen

/**
 * SPID ErrorCode → message for the citizen (Regole tecniche, "messaggi di errore"; spid.md §6).
 * 19–23, 25, 30 are the user anomalies the SP must explain; others get the generic text.
 */
export const SPID_ERROR_MESSAGES: Readonly<Record<number, string>> = {
  19: 'Accesso non riuscito: sono state inserite credenziali errate troppe volte. Attendi qualche minuto e riprova, oppure rivolgiti al tuo gestore di identità SPID.',
  20: 'Accesso non riuscito: non hai credenziali SPID del livello di sicurezza richiesto da questo servizio. Verifica con il tuo gestore di identità come attivarle.',
  21: 'Accesso non riuscito: il tempo a disposizione per completare l\'autenticazione è scaduto. Riprova.',
  22: 'Accesso non riuscito: non hai dato il consenso all\'invio dei dati richiesti dal servizio. Senza questi dati non è possibile accedere.',
  23: 'Accesso non riuscito: la tua identità SPID risulta sospesa, revocata o con credenziali bloccate. Rivolgiti al tuo gestore di identità.',
  25: 'Hai annullato l\'accesso. Puoi riprovare quando vuoi.',
  30: 'Accesso non riuscito: hai usato un tipo di identità diverso da quello richiesto (per esempio un\'identità professionale o per persona giuridica). Accedi con la tua identità SPID personale.',
};

const GENERIC_MESSAGE =
  'Non è stato possibile completare l\'accesso con SPID o CIE. Riprova; se il problema persiste contatta l\'assistenza.';
const EXPIRED_MESSAGE = 'La richiesta di accesso è scaduta o è già stata usata. Ripeti l\'accesso dalla pagina iniziale.';
const USER_MESSAGES: Partial<Record<RejectionCode, string>> = {
  IN_RESPONSE_TO_MISMATCH: EXPIRED_MESSAGE,
  ASSERTION_REPLAYED: EXPIRED_MESSAGE,
  SCD_EXPIRED: EXPIRED_MESSAGE,
  CONDITIONS_EXPIRED: EXPIRED_MESSAGE,
  LEVEL_TOO_LOW:
    'Il livello di sicurezza dell\'accesso effettuato non è sufficiente per questo servizio. Accedi di nuovo con un livello SPID adeguato (per esempio SPID livello 2).',
  FISCAL_NUMBER_MISSING:
    'Il gestore di identità non ha trasmesso il codice fiscale, necessario per accedere al servizio.',
  FISCAL_NUMBER_INVALID:
    'Il codice fiscale ricevuto dal gestore di identità non è quello di una persona fisica: accedi con la tua identità SPID personale.',
  STATUS_NOT_SUCCESS: 'Il gestore di identità non ha completato l\'autenticazione. Riprova.',
};

/** Italian message for an IdP ErrorCode (or a generic one). */
export function spidErrorMessage(code: number | null | undefined): string {
  return (code != null && SPID_ERROR_MESSAGES[code]) || 'Il gestore di identità non ha completato l\'autenticazione. Riprova.';
}

class Reject extends Error {
  constructor(
    readonly code: RejectionCode,
    readonly reason: string,
    readonly spidErrorCode?: number,
  ) {
    super(reason);
  }
}

function fail(code: RejectionCode, reason: string): never {
  throw new Reject(code, reason);
}

function toFailure(r: Reject): ValidationFailure {
  const malformed = r.code.startsWith('XML_') || r.code === 'XSD_INVALID' || r.code === 'RESPONSE_ENCODING' || r.code === 'NOT_A_RESPONSE';
  const userMessage =
    r.code === 'IDP_AUTHN_ERROR' ? spidErrorMessage(r.spidErrorCode) : (USER_MESSAGES[r.code] ?? GENERIC_MESSAGE);
  return {
    ok: false,
    code: r.code,
    reason: r.reason,
    userMessage,
    httpStatus: malformed ? 400 : 403,
    ...(r.spidErrorCode !== undefined ? { spidErrorCode: r.spidErrorCode } : {}),
  };
}

// ---------------------------------------------------------------- helpers

const STRICT_BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Decodes the `SAMLResponse` form field (base64, whitespace allowed). */
export function decodeSamlMessage(b64: string, maxBytes = DEFAULT_MAX_XML_BYTES): Buffer {
  const compact = b64.replace(/\s+/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !STRICT_BASE64.test(compact)) {
    throw new Reject('RESPONSE_ENCODING', 'SAMLResponse is not valid base64');
  }
  if ((compact.length / 4) * 3 > maxBytes + 3) throw new Reject('XML_TOO_LARGE', `SAMLResponse larger than ${maxBytes} bytes`);
  return Buffer.from(compact, 'base64');
}

function parseDocument(bytes: Uint8Array, maxBytes: number): Document {
  try {
    return parseXmlSafely(bytes, { maxBytes });
  } catch (e) {
    if (e instanceof XmlSafeParseError) {
      const code: RejectionCode =
        e.code === 'TOO_LARGE' ? 'XML_TOO_LARGE' : e.code === 'DTD_FORBIDDEN' ? 'XML_DTD_FORBIDDEN' : 'XML_MALFORMED';
      throw new Reject(code, e.message);
    }
    throw e;
  }
}

function toEpoch(v: string | Date | number): number {
  if (typeof v === 'number') return v;
  if (v instanceof Date) return v.getTime();
  const t = parseSamlInstant(v) ?? Date.parse(v);
  if (Number.isNaN(t)) throw new Error(`invalid expected issueInstant: ${v}`);
  return t;
}

const LEVEL_OK: Record<AuthnComparison, (got: number, want: number) => boolean> = {
  minimum: (g, w) => g >= w,
  exact: (g, w) => g === w,
  better: (g, w) => g > w,
  maximum: (g, w) => g <= w,
};

/** Exactly one child, or a rejection with `code` when none (or more than one). */
function one(parent: Element, ns: string, name: string, code: RejectionCode, what: string): Element {
  const els = childElements(parent, ns, name);
  if (els.length === 0) fail(code, `${what} missing`);
  if (els.length > 1) fail(code, `${what} repeated`);
  return els[0]!;
}

/** {@link verifySignatureOrThrow}: the shared verifier, turned into a rejection with `code`. */
function verifySignatureOrThrow(
  xml: string,
  signature: Element,
  expectedId: string,
  certsPem: string[],
  code: RejectionCode,
  what: string,
): string {
  const r = verifyEnvelopedSignature(xml, signature, expectedId, certsPem);
  if (!r.ok) fail(code, `${what}: ${r.reason}`);
  return r.canonicalXml;
}

/** Parses the canonical XML of a signed element and checks it is the expected element. */
function signedElement(canonXml: string, ns: string, localName: string, id: string, code: RejectionCode): Element {
  let doc: Document;
  try {
    doc = parseXmlSafely(canonXml);
  } catch (e) {
    return fail(code, `signed ${localName} not parseable: ${(e as Error).message}`);
  }
  const el = doc.documentElement!;
  if (el.namespaceURI !== ns || el.localName !== localName || attr(el, 'ID') !== id) {
    fail(code, `the signature does not cover the ${localName} ${id}`);
  }
  return el;
}

function checkInstant(
  value: string | null,
  requestAt: number,
  now: number,
  skew: number,
  codes: [RejectionCode, RejectionCode, RejectionCode],
  what: string,
): number {
  const t = parseSamlInstant(value);
  if (t === null) fail(codes[0], `${what} ${JSON.stringify(value)} is not an xs:dateTime in UTC`);
  if (t < requestAt - skew) fail(codes[1], `${what} ${value} is before the AuthnRequest`);
  if (t > now + skew) fail(codes[2], `${what} ${value} is in the future`);
  return t;
}

/** The compiled protocol XSD per (path, size limit), looked up once rather than on every Response. */
const schemas = new Map<string, XsdSchema>();
function protocolSchema(xsdPath: string | undefined, maxBytes: number): XsdSchema {
  const p = xsdPath ?? XSD.protocol();
  const key = `${maxBytes}:${p}`;
  let schema = schemas.get(key);
  if (!schema) {
    schema = getXsdSchema(p, { maxBytes });
    schemas.set(key, schema);
  }
  return schema;
}

// ---------------------------------------------------------------- main

export interface ValidateResponseInput {
  /** The `SAMLResponse` form field (base64). */
  samlResponse: string;
  expected: ExpectedRequest;
  idp: IdpTrust;
  replay: ReplayGuard;
}

/** Runs every ACS check. Never throws for bad input (only for programming errors). */
export async function validateSpidResponse(
  input: ValidateResponseInput,
  options: ResponseValidationOptions,
): Promise<ValidationResult> {
  try {
    return await run(input, options);
  } catch (e) {
    if (e instanceof Reject) return toFailure(e);
    throw e;
  }
}

async function run(input: ValidateResponseInput, options: ResponseValidationOptions): Promise<ValidationSuccess> {
  const { expected, idp } = input;
  const now = options.now.getTime();
  const skew = options.clockSkewMs ?? 60_000;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_XML_BYTES;
  const requestAt = toEpoch(expected.issueInstant);

  // 1. safe parsing
  const bytes = decodeSamlMessage(input.samlResponse, maxBytes);
  const doc = parseDocument(bytes, maxBytes);
  // Well-formed UTF-8 by now (the safe parser decodes strictly): the exact text the signatures cover.
  const xml = bytes.toString('utf8');
  const response = doc.documentElement!;
  if (response.namespaceURI !== NS.samlp || response.localName !== 'Response') {
    fail('NOT_A_RESPONSE', `root element is {${response.namespaceURI}}${response.localName}`);
  }

  // 1b. XSD
  const schema = protocolSchema(options.protocolXsdPath, maxBytes).validate(bytes);
  if (!schema.valid) fail('XSD_INVALID', `not valid against the SAML protocol XSD: ${schema.errors.slice(0, 3).join(' | ')}`);

  // 2. Response ID, Version, IssueInstant
  const responseId = attr(response, 'ID');
  if (!responseId) fail('RESPONSE_ID_MISSING', 'Response ID missing or empty');
  if (attr(response, 'Version') !== '2.0') fail('RESPONSE_VERSION', `Response Version ${attr(response, 'Version')} is not 2.0`);
  checkInstant(
    attr(response, 'IssueInstant'),
    requestAt,
    now,
    skew,
    ['RESPONSE_ISSUE_INSTANT_INVALID', 'RESPONSE_ISSUE_INSTANT_BEFORE_REQUEST', 'RESPONSE_ISSUE_INSTANT_FUTURE'],
    'Response IssueInstant',
  );

  // 3. InResponseTo (the route has already looked up and consumed the stored request)
  const inResponseTo = attr(response, 'InResponseTo');
  if (!inResponseTo) fail('IN_RESPONSE_TO_MISSING', 'Response InResponseTo missing or empty');
  if (inResponseTo !== expected.requestId) fail('IN_RESPONSE_TO_MISMATCH', `InResponseTo ${inResponseTo} is not ${expected.requestId}`);

  // 4. Destination
  const destination = attr(response, 'Destination');
  if (!destination) fail('DESTINATION_MISSING', 'Response Destination missing or empty');
  if (destination !== expected.acsUrl) fail('DESTINATION_MISMATCH', `Destination ${destination} is not ${expected.acsUrl}`);

  // 5. Issuer (Format optional on the Response)
  const issuers = childElements(response, NS.saml, 'Issuer');
  if (issuers.length !== 1 || !textOf(issuers[0]!)) fail('RESPONSE_ISSUER_MISSING', 'Response Issuer missing or empty');
  const rIssuer = issuers[0]!;
  if (textOf(rIssuer) !== expected.idpEntityId || idp.entityId !== expected.idpEntityId) {
    fail('RESPONSE_ISSUER_MISMATCH', `Response Issuer ${textOf(rIssuer)} is not ${expected.idpEntityId}`);
  }
  const rIssuerFormat = attr(rIssuer, 'Format');
  if (rIssuerFormat !== null && rIssuerFormat !== NAMEID_ENTITY) {
    fail('RESPONSE_ISSUER_FORMAT', `Response Issuer Format ${rIssuerFormat}`);
  }

  // 6. Status
  const status = one(response, NS.samlp, 'Status', 'STATUS_MISSING', 'Status');
  const statusCode = one(status, NS.samlp, 'StatusCode', 'STATUS_MISSING', 'StatusCode');
  const statusValue = attr(statusCode, 'Value');
  if (!statusValue) fail('STATUS_MISSING', 'StatusCode Value missing or empty');
  if (statusValue !== STATUS.SUCCESS) {
    const msgEl = childElements(status, NS.samlp, 'StatusMessage')[0];
    const msg = msgEl ? textOf(msgEl) : '';
    const m = /ErrorCode nr\s*0*(\d+)/i.exec(msg);
    const sub = childElements(statusCode, NS.samlp, 'StatusCode')[0];
    const detail = `Status ${statusValue}${sub ? ` / ${attr(sub, 'Value')}` : ''}${msg ? ` "${msg}"` : ''}`;
    if (m) throw new Reject('IDP_AUTHN_ERROR', `IdP error: ${detail}`, Number(m[1]));
    fail('STATUS_NOT_SUCCESS', `IdP error: ${detail}`);
  }

  // 7. Signatures
  if (descendantElements(doc, NS.saml, 'EncryptedAssertion').length > 0) fail('ASSERTION_ENCRYPTED', 'EncryptedAssertion is not used in SPID');
  const allAssertions = descendantElements(doc, NS.saml, 'Assertion');
  if (allAssertions.length === 0) fail('ASSERTION_MISSING', 'Status Success without an Assertion');
  if (allAssertions.length > 1) fail('ASSERTION_MULTIPLE', `${allAssertions.length} Assertion elements (signature wrapping?)`);
  const assertion = allAssertions[0]!;
  if (assertion.parentNode !== response) fail('ASSERTION_MULTIPLE', 'the Assertion is not a child of the Response');
  const responseSigs = childElements(response, NS.ds, 'Signature');
  const assertionSigs = childElements(assertion, NS.ds, 'Signature');
  const allSigs = descendantElements(doc, NS.ds, 'Signature');
  if (responseSigs.length > 1 || assertionSigs.length > 1 || allSigs.length !== responseSigs.length + assertionSigs.length) {
    fail('UNEXPECTED_SIGNATURE', 'Signature elements outside the Response/Assertion signature positions');
  }
  const certs = idp.certificates;
  if (certs.length === 0) fail('NO_TRUSTED_CERTIFICATE', `no certificate for IdP ${idp.entityId}`);
  if (responseSigs.length === 1) {
    const canon = verifySignatureOrThrow(xml, responseSigs[0]!, responseId, certs, 'RESPONSE_SIGNATURE_INVALID', 'Response');
    // Nothing is read from the signed Response (its values were checked above and the Assertion
    // carries its own signature): checking what the signature covers needs no second parse.
    if (!canonicalRootIs(canon, NS.samlp, 'Response', responseId)) {
      fail('RESPONSE_SIGNATURE_INVALID', `the signature does not cover the Response ${responseId}`);
    }
  }
  const assertionIdRaw = attr(assertion, 'ID');
  if (!assertionIdRaw) fail('ASSERTION_ID_MISSING', 'Assertion ID missing or empty');
  if (assertionSigs.length === 0) fail('ASSERTION_NOT_SIGNED', 'the Assertion is not signed');
  const assertionCanon = verifySignatureOrThrow(xml, assertionSigs[0]!, assertionIdRaw, certs, 'ASSERTION_SIGNATURE_INVALID', 'Assertion');
  // From here on, every value comes from the signed canonical Assertion.
  const a = signedElement(assertionCanon, NS.saml, 'Assertion', assertionIdRaw, 'ASSERTION_SIGNATURE_INVALID');

  // 8. Assertion ID, Version, IssueInstant, Issuer (Format required)
  const assertionId = attr(a, 'ID')!;
  if (attr(a, 'Version') !== '2.0') fail('ASSERTION_VERSION', `Assertion Version ${attr(a, 'Version')} is not 2.0`);
  checkInstant(
    attr(a, 'IssueInstant'),
    requestAt,
    now,
    skew,
    ['ASSERTION_ISSUE_INSTANT_INVALID', 'ASSERTION_ISSUE_INSTANT_BEFORE_REQUEST', 'ASSERTION_ISSUE_INSTANT_FUTURE'],
    'Assertion IssueInstant',
  );
  const aIssuers = childElements(a, NS.saml, 'Issuer');
  if (aIssuers.length !== 1 || !textOf(aIssuers[0]!)) fail('ASSERTION_ISSUER_MISSING', 'Assertion Issuer missing or empty');
  const aIssuer = aIssuers[0]!;
  if (textOf(aIssuer) !== expected.idpEntityId) fail('ASSERTION_ISSUER_MISMATCH', `Assertion Issuer ${textOf(aIssuer)} is not ${expected.idpEntityId}`);
  if (attr(aIssuer, 'Format') !== NAMEID_ENTITY) fail('ASSERTION_ISSUER_FORMAT', `Assertion Issuer Format ${attr(aIssuer, 'Format')}`);

  // 9. Subject
  const subject = one(a, NS.saml, 'Subject', 'SUBJECT_MISSING', 'Subject');
  const nameIdEls = childElements(subject, NS.saml, 'NameID');
  if (nameIdEls.length !== 1 || !textOf(nameIdEls[0]!)) fail('NAMEID_MISSING', 'NameID missing or empty');
  const nameIdEl = nameIdEls[0]!;
  const nameIdFormat = attr(nameIdEl, 'Format');
  if (nameIdFormat !== NAMEID_TRANSIENT) fail('NAMEID_FORMAT', `NameID Format ${nameIdFormat} is not transient`);
  const nameQualifier = attr(nameIdEl, 'NameQualifier');
  if (!nameQualifier || !nameQualifier.trim()) fail('NAMEID_QUALIFIER_MISSING', 'NameID NameQualifier missing or empty');
  const scs = childElements(subject, NS.saml, 'SubjectConfirmation');
  if (scs.length === 0) fail('SUBJECT_CONFIRMATION_MISSING', 'SubjectConfirmation missing');
  const bearer = scs.filter((sc) => attr(sc, 'Method') === CM_BEARER);
  if (bearer.length !== 1) {
    fail('SUBJECT_CONFIRMATION_METHOD', `SubjectConfirmation Method ${scs.map((sc) => JSON.stringify(attr(sc, 'Method'))).join(',')} is not bearer`);
  }
  const scd = one(bearer[0]!, NS.saml, 'SubjectConfirmationData', 'SUBJECT_CONFIRMATION_DATA_MISSING', 'SubjectConfirmationData');
  const recipient = attr(scd, 'Recipient');
  if (!recipient) fail('RECIPIENT_MISSING', 'SubjectConfirmationData Recipient missing or empty');
  if (recipient !== expected.acsUrl) fail('RECIPIENT_MISMATCH', `Recipient ${recipient} is not ${expected.acsUrl}`);
  const scdIrt = attr(scd, 'InResponseTo');
  if (!scdIrt) fail('SCD_IN_RESPONSE_TO_MISSING', 'SubjectConfirmationData InResponseTo missing or empty');
  if (scdIrt !== expected.requestId) fail('SCD_IN_RESPONSE_TO_MISMATCH', `SubjectConfirmationData InResponseTo ${scdIrt} is not ${expected.requestId}`);
  const scdNoa = parseSamlInstant(attr(scd, 'NotOnOrAfter'));
  if (scdNoa === null) fail('SCD_NOT_ON_OR_AFTER_INVALID', `SubjectConfirmationData NotOnOrAfter ${JSON.stringify(attr(scd, 'NotOnOrAfter'))} invalid`);
  if (scdNoa <= now - skew) fail('SCD_EXPIRED', `SubjectConfirmationData NotOnOrAfter ${attr(scd, 'NotOnOrAfter')} has passed`);

  // 10. Conditions
  const conditions = one(a, NS.saml, 'Conditions', 'CONDITIONS_MISSING', 'Conditions');
  const notBefore = parseSamlInstant(attr(conditions, 'NotBefore'));
  if (notBefore === null) fail('CONDITIONS_NOT_BEFORE_INVALID', `Conditions NotBefore ${JSON.stringify(attr(conditions, 'NotBefore'))} missing or invalid`);
  if (notBefore > now + skew) fail('CONDITIONS_NOT_YET_VALID', `Conditions NotBefore ${attr(conditions, 'NotBefore')} is in the future`);
  const condNoa = parseSamlInstant(attr(conditions, 'NotOnOrAfter'));
  if (condNoa === null) fail('CONDITIONS_NOT_ON_OR_AFTER_INVALID', `Conditions NotOnOrAfter ${JSON.stringify(attr(conditions, 'NotOnOrAfter'))} missing or invalid`);
  if (condNoa <= now - skew) fail('CONDITIONS_EXPIRED', `Conditions NotOnOrAfter ${attr(conditions, 'NotOnOrAfter')} has passed`);
  const restrictions = childElements(conditions, NS.saml, 'AudienceRestriction');
  if (restrictions.length === 0) fail('AUDIENCE_MISSING', 'AudienceRestriction missing');
  for (const r of restrictions) {
    const audiences = childElements(r, NS.saml, 'Audience').map(textOf);
    if (audiences.length === 0 || audiences.some((x) => !x)) fail('AUDIENCE_MISSING', 'Audience missing or empty');
    if (!audiences.includes(expected.spEntityId)) fail('AUDIENCE_MISMATCH', `Audience ${audiences.join(',')} is not ${expected.spEntityId}`);
  }

  // 11. AuthnStatement and level
  const authn = one(a, NS.saml, 'AuthnStatement', 'AUTHN_STATEMENT_MISSING', 'AuthnStatement');
  const ctx = one(authn, NS.saml, 'AuthnContext', 'AUTHN_CONTEXT_MISSING', 'AuthnContext');
  const classRefs = childElements(ctx, NS.saml, 'AuthnContextClassRef');
  if (classRefs.length !== 1) fail('AUTHN_CONTEXT_CLASS_REF_INVALID', 'AuthnContextClassRef missing or repeated');
  const level = levelFromClassRef(textOf(classRefs[0]!));
  if (level === null) fail('AUTHN_CONTEXT_CLASS_REF_INVALID', `AuthnContextClassRef ${JSON.stringify(textOf(classRefs[0]!))} is not a SPID level`);
  const comparison = expected.comparison ?? 'minimum';
  if (!LEVEL_OK[comparison](level, expected.level)) {
    fail('LEVEL_TOO_LOW', `authenticated at SpidL${level}, requested SpidL${expected.level} (${comparison})`);
  }
  const sessionIndex = attr(authn, 'SessionIndex');

  // 12. Attributes
  const attributes: Record<string, string> = {};
  const statements = childElements(a, NS.saml, 'AttributeStatement');
  for (const st of statements) {
    const list = childElements(st, NS.saml, 'Attribute');
    if (list.length === 0) fail('ATTRIBUTES_EMPTY', 'AttributeStatement without Attribute');
    for (const at of list) {
      const values = childElements(at, NS.saml, 'AttributeValue');
      if (values.length === 0) fail('ATTRIBUTE_VALUE_MISSING', `Attribute ${attr(at, 'Name')} without AttributeValue`);
      const name = attr(at, 'Name') ?? '';
      if (!(name in attributes)) attributes[name] = textOf(values[0]!);
    }
  }
  const rawCf = attributes.fiscalNumber;
  if (!rawCf) fail('FISCAL_NUMBER_MISSING', 'fiscalNumber attribute missing');
  const cf = rawCf.replace(/^TINIT-/i, '').toUpperCase();
  if (!isValidPersonalFiscalCode(cf)) fail('FISCAL_NUMBER_INVALID', `fiscalNumber ${rawCf} is not a personal codice fiscale`);

  // 13. Replay
  const notOnOrAfter = new Date(Math.min(scdNoa, condNoa));
  const fresh = await input.replay.checkAndRecord(assertionId, notOnOrAfter, options.now);
  if (!fresh) fail('ASSERTION_REPLAYED', `Assertion ${assertionId} already used`);

  return {
    ok: true,
    user: {
      fiscalNumber: cf,
      name: attributes.name || null,
      familyName: attributes.familyName || null,
      email: attributes.email || null,
      attributes,
    },
    assertionId,
    notOnOrAfter,
    sessionIndex: sessionIndex || null,
    nameId: textOf(nameIdEl),
    nameIdFormat: nameIdFormat!,
    nameQualifier: nameQualifier!,
    level,
    idpEntityId: expected.idpEntityId,
    responseId,
  };
}

/**
 * Unverified peek at a SAMLResponse, so the route can find the stored request state by
 * `InResponseTo` (and the IdP by `Issuer`) before calling {@link validateSpidResponse}.
 * Returns null when it cannot even be parsed. Trust nothing here.
 */
export function peekSamlResponse(b64: string, maxBytes = DEFAULT_MAX_XML_BYTES): { inResponseTo: string | null; issuer: string | null } | null {
  try {
    const doc = parseXmlSafely(decodeSamlMessage(b64, maxBytes), { maxBytes });
    const r = doc.documentElement!;
    const issuer = childElements(r, NS.saml, 'Issuer')[0];
    return { inResponseTo: attr(r, 'InResponseTo'), issuer: issuer ? textOf(issuer) : null };
  } catch {
    return null;
  }
}

/** In-memory {@link ReplayGuard} for tests and the demo (the app uses the DB table). */
export class MemoryReplayGuard implements ReplayGuard {
  private readonly seen = new Map<string, number>();
  checkAndRecord(id: string, expiresAt: Date, now: Date): boolean {
    // Entries are kept one day past their expiry, measured on the caller's clock.
    const cutoff = now.getTime() - 86_400_000;
    for (const [k, exp] of this.seen) if (exp < cutoff) this.seen.delete(k);
    if (this.seen.has(id)) return false;
    this.seen.set(id, expiresAt.getTime());
    return true;
  }
}
