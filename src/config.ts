/**
 * Every setting of the server comes from the environment. This module declares them once
 * (name, type, demo default, whether production requires it, description), validates them
 * with a JSON schema (ajv) and returns a typed, frozen object.
 *
 * The README configuration table mirrors SETTINGS; a test checks that every setting is documented.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export type AppMode = 'demo' | 'production';

interface SettingSpec {
  /** JSON-schema fragment for the raw string or coerced value. */
  schema: Record<string, unknown>;
  /** Value used when the variable is absent (both modes) unless `requiredInProduction`. */
  default?: string | number | boolean;
  /** In production the variable must be set explicitly (no default applies). */
  requiredInProduction?: boolean;
  /** A credential: error messages never print its value. */
  secret?: boolean;
  description: string;
}

export const SETTINGS = {
  APP_MODE: {
    schema: { type: 'string', enum: ['demo', 'production'] },
    default: 'demo',
    description: '`demo` (embedded defaults, seeded demo data, simulators on) or `production`',
  },
  HOST: { schema: { type: 'string', minLength: 1 }, default: '127.0.0.1', description: 'Address to listen on' },
  PORT: { schema: { type: 'integer', minimum: 0, maximum: 65535 }, default: 3000, description: 'TCP port to listen on' },
  DATA_DIR: {
    schema: { type: 'string', minLength: 1 },
    default: 'data',
    description: 'Folder for the SQLite database, generated keys and stored files (relative to the working directory or absolute)',
  },
  DATABASE_URL: {
    schema: { type: 'string', pattern: '^postgres(ql)?://' },
    secret: true,
    description:
      'PostgreSQL database shared by several processes (`postgres://user:password@host:5432/db`); unset: the SQLite file `DATA_DIR/sael-pay.sqlite`. Migrations are applied at start',
  },
  PUBLIC_URL: {
    schema: { type: 'string', format: 'uri', pattern: '^https?://[^/]+(/.*)?$' },
    requiredInProduction: true,
    description: 'Absolute base URL of the portal as users and the pagoPA node reach it (used in SAML metadata and return URLs); demo default `http://localhost:<PORT>`',
  },
  SESSION_SECRET: {
    schema: { type: 'string', minLength: 32 },
    requiredInProduction: true,
    secret: true,
    description: 'Secret (≥ 32 characters) that signs session cookies; in demo mode generated at first start into `DATA_DIR/session-secret`',
  },
  SESSION_TTL_MINUTES: {
    schema: { type: 'integer', minimum: 5, maximum: 1440 },
    default: 30,
    description: 'Idle lifetime of a login session in minutes',
  },
  TRUST_PROXY: {
    schema: { type: 'boolean' },
    default: false,
    description: 'Trust `X-Forwarded-*` headers from a reverse proxy (needed for `Secure` cookies behind a TLS-terminating proxy)',
  },
  LOG_LEVEL: {
    schema: { type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    default: 'info',
    description: 'pino log level',
  },
  BODY_LIMIT_BYTES: {
    schema: { type: 'integer', minimum: 1024, maximum: 104857600 },
    default: 1048576,
    description: 'Largest accepted request body in bytes (larger bodies get HTTP 413)',
  },
  RATE_LIMIT_PER_MINUTE: {
    schema: { type: 'integer', minimum: 1 },
    default: 300,
    description: 'Requests per minute allowed to one client address',
  },
  IMPORT_MAX_BYTES: {
    schema: { type: 'integer', minimum: 1024, maximum: 1073741824 },
    default: 104857600,
    description: 'Largest CSV file accepted for a bulk import of positions, in bytes',
  },
  NOTICE_WORKERS: {
    schema: { type: 'integer', minimum: 0, maximum: 64 },
    default: 2,
    description: 'Worker threads that render notice PDFs for bulk printing (0 = in the main thread)',
  },
  IMPORT_MAX_ROWS: {
    schema: { type: 'integer', minimum: 1, maximum: 5000000 },
    default: 1000000,
    description: 'Most data rows accepted in one CSV import',
  },
  JOB_STALE_SECONDS: {
    schema: { type: 'integer', minimum: 2, maximum: 86400 },
    default: 60,
    description: 'Seconds without progress after which a running background job (CSV import, bulk printing) is considered abandoned by its process (crashed, killed) and taken over by another',
  },
  PROVINCE_NAME: {
    schema: { type: 'string', minLength: 1 },
    default: 'Provincia di Campobasso',
    description: 'Name shown in the page header',
  },
  SEED_DEMO: {
    schema: { type: 'boolean' },
    default: true,
    description: 'In demo mode, seed the province, its 84 comuni and demo users into an empty database',
  },
  SPID_ENTITY_ID: {
    schema: { type: 'string', pattern: '^https://[^/:?#]+(/[^?#]*)?$' },
    description:
      'SAML entityID of the Service Provider (HTTPS, no port, no query; also the `uri` of its certificate); default `PUBLIC_URL` (in demo with `https://` and without the port)',
  },
  SPID_IPA_CODE: {
    schema: { type: 'string', pattern: '^\\S{1,16}$' },
    requiredInProduction: true,
    description: 'IPA code of the province (`spid:IPACode` in the metadata, `PA:IT-<code>` in the certificate); demo default `p_cb`',
  },
  SPID_ORGANIZATION_NAME: {
    schema: { type: 'string', minLength: 1, maxLength: 200 },
    description: 'Full legal name for the SAML metadata and the certificate `O` (exact case and accents); default `PROVINCE_NAME`',
  },
  SPID_ORGANIZATION_DISPLAY_NAME: {
    schema: { type: 'string', minLength: 1, maxLength: 200 },
    description: 'Name the IdPs show to the user (metadata `OrganizationDisplayName`, certificate `CN`); default `SPID_ORGANIZATION_NAME`',
  },
  SPID_ORGANIZATION_URL: {
    schema: { type: 'string', format: 'uri', pattern: '^https?://' },
    description: 'Institutional web site in the metadata `OrganizationURL`; default `PUBLIC_URL`',
  },
  SPID_LOCALITY: {
    schema: { type: 'string', minLength: 1, maxLength: 100 },
    default: 'Campobasso',
    description: 'City of the legal seat (certificate `localityName`)',
  },
  SPID_CONTACT_EMAIL: {
    schema: { type: 'string', format: 'email' },
    requiredInProduction: true,
    description: 'Institutional e-mail address in the metadata `ContactPerson` (not a person’s); demo default `sael@example.invalid`',
  },
  SPID_CONTACT_PHONE: {
    schema: { type: 'string', pattern: '^\\+39\\d{6,12}$' },
    description: 'Optional telephone number in the metadata `ContactPerson` (`+39…`, no spaces)',
  },
  SPID_REGISTRY_URL: {
    schema: { type: 'string', pattern: '^(https?://\\S+|off)$' },
    description:
      'AgID registry of the SPID IdPs (signed aggregate metadata), downloaded at start and every `SPID_REGISTRY_REFRESH_HOURS`, last good copy kept in `DATA_DIR/saml-metadata`; default in production `https://registry.spid.gov.it/metadata/idp/spid-entities-idps.xml`, in demo none; `off` disables it (then `SPID_IDP_METADATA_DIR` must list the IdPs)',
  },
  SPID_REGISTRY_CERT_FILE: {
    schema: { type: 'string', minLength: 1 },
    description:
      'PEM file with the AgID certificate(s) that sign the registry metadata; required whenever the registry is on (in production unless `SPID_REGISTRY_URL=off`): a copy not signed by one of them is refused',
  },
  SPID_REGISTRY_REFRESH_HOURS: {
    schema: { type: 'integer', minimum: 1, maximum: 168 },
    default: 24,
    description: 'How often the AgID registry (and `CIE_IDP_METADATA_URL`) is downloaded again; the new IdP list replaces the old one only when it passes every check',
  },
  SPID_REGISTRY_TIMEOUT_SECONDS: {
    schema: { type: 'integer', minimum: 1, maximum: 300 },
    default: 20,
    description: 'Time limit of one download of the AgID registry or of the CIE metadata',
  },
  SPID_IDP_METADATA_DIR: {
    schema: { type: 'string', minLength: 1 },
    description:
      'Folder of extra trusted SPID IdP metadata files (`*.xml`: single EntityDescriptors such as AgID’s validator, or an aggregate), read at start-up and added to the registry ones (an entityID in the registry wins); in demo optional (the built-in test IdP is always trusted)',
  },
  SPID_IDP_METADATA_SIGNER_CERT: {
    schema: { type: 'string', minLength: 1 },
    description: 'Optional PEM file of the certificate that must have signed every file in `SPID_IDP_METADATA_DIR` (AgID registry)',
  },
  SPID_CERT_DIR: {
    schema: { type: 'string', minLength: 1 },
    description:
      'Folder with the SP signing key and certificate (`key.pem`, `crt.pem`, Avviso 29 v3); generated (self-signed) at first start when both are absent; default `DATA_DIR/spid-sp`',
  },
  CIE_IDP_METADATA_FILE: {
    schema: { type: 'string', minLength: 1 },
    description: 'Metadata file of the CIE ID IdP (Ministero dell’Interno); in production the "Entra con CIE" button appears only when set; in demo the test IdP also acts as CIE IdP',
  },
  CIE_IDP_METADATA_URL: {
    schema: { type: 'string', pattern: '^https?://\\S+$' },
    description:
      'URL of the CIE ID IdP metadata (production `https://idserver.servizicie.interno.gov.it/idp/shibboleth`), downloaded and refreshed like the SPID registry (last good copy in `DATA_DIR/saml-metadata`); needs `CIE_IDP_METADATA_CERT_FILE`',
  },
  CIE_IDP_METADATA_CERT_FILE: {
    schema: { type: 'string', minLength: 1 },
    description: 'PEM file with the certificate(s) that must have signed the metadata at `CIE_IDP_METADATA_URL`',
  },
  CIE_ENTITY_ID: {
    schema: { type: 'string', pattern: '^https://[^/:?#]+(/[^?#]*)?$' },
    description: 'entityID registered with the CIE federation; default `SPID_ENTITY_ID`',
  },
  CIE_MUNICIPALITY: {
    schema: { type: 'string', pattern: '^[A-Z]\\d{3}$' },
    default: 'B519',
    description: 'Cadastral code of the municipality of the legal seat (`cie:Municipality` in the CIE metadata)',
  },
  CIE_PROVINCE: {
    schema: { type: 'string', pattern: '^[A-Z]{2}$' },
    default: 'CB',
    description: 'Province code (`cie:Province` in the CIE metadata)',
  },
  SPID_CLOCK_SKEW_SECONDS: {
    schema: { type: 'integer', minimum: 0, maximum: 120 },
    default: 60,
    description: 'Clock skew allowed when checking SAML instants',
  },
  SPID_REQUEST_TTL_MINUTES: {
    schema: { type: 'integer', minimum: 1, maximum: 30 },
    default: 10,
    description: 'How long a login request (AuthnRequest state) stays valid',
  },
  PAGOPA_BROKER_ID: {
    schema: { type: 'string', pattern: '^[0-9]{11}$' },
    requiredInProduction: true,
    description: 'Fiscal code of the intermediary (`idBrokerPA`, the province as partner); demo default `90700000004` (the demo province)',
  },
  PAGOPA_STATION_ID: {
    schema: { type: 'string', minLength: 1, maxLength: 35 },
    requiredInProduction: true,
    description: 'Station id registered in Backoffice pagoPA (`idStation`, e.g. `<broker>_01`); demo default `PAGOPA_BROKER_ID` + `_01`',
  },
  PAGOPA_STATION_PASSWORD: {
    schema: { type: 'string', minLength: 8, maxLength: 15 },
    requiredInProduction: true,
    secret: true,
    description: 'Station password sent in `nodoChiedi*` (8–15 characters); demo default `SaelDemo2026`',
  },
  PAGOPA_NODE_URL: {
    schema: { type: 'string', format: 'uri', pattern: '^https?://' },
    requiredInProduction: true,
    description: 'nodeForPa SOAP endpoint (UAT `https://api.uat.platform.pagopa.it/nodo-auth/node-for-pa/v1`); demo default the built-in simulator `PUBLIC_URL/simulators/pagopa/nodo/node-for-pa`',
  },
  PAGOPA_CHECKOUT_URL: {
    schema: { type: 'string', format: 'uri', pattern: '^https?://' },
    requiredInProduction: true,
    description: 'Base URL of the Checkout EC API v2, `/carts` is appended (`https://api.platform.pagopa.it/checkout/ec/v2`); demo default `PUBLIC_URL/simulators/pagopa/checkout/ec/v2`',
  },
  PAGOPA_ACA_URL: {
    schema: { type: 'string', format: 'uri', pattern: '^https?://' },
    requiredInProduction: true,
    description: 'Base URL of the central archive (ACA) API, `/paCreatePosition` is appended; demo default `PUBLIC_URL/simulators/pagopa/aca`',
  },
  PAGOPA_SUBSCRIPTION_KEY: {
    schema: { type: 'string', minLength: 1 },
    requiredInProduction: true,
    secret: true,
    description: 'API key sent as `Ocp-Apim-Subscription-Key` to the node, Checkout and the central archive; demo default `demo-subscription-key`',
  },
  PAGOPA_RECEIPT_REPLAY_ANSWER: {
    schema: { type: 'string', enum: ['OK', 'PAA_RECEIPT_DUPLICATA'] },
    default: 'OK',
    description: 'Answer to a replayed identical `paSendRT(V2)` (nothing is stored twice either way): `OK` or the fault `PAA_RECEIPT_DUPLICATA` — confirm with PagoPA',
  },
  PAGOPA_STATION_WORKERS: {
    schema: { type: 'integer', minimum: 0, maximum: 64 },
    default: 1,
    description: 'Worker threads that answer the node’s read-only calls (`paVerifyPaymentNotice`, `paGetPayment(V2)`) once they pass 100 a second, each with its own read connection (0 = always in the main thread)',
  },
  PAGOPA_FDR_INTERVAL_MINUTES: {
    schema: { type: 'integer', minimum: 0, maximum: 10080 },
    default: 60,
    description: 'How often each member ente’s reporting flows are downloaded with `nodoChiedi*` (0 = never, only on demand)',
  },
  PAGOPA_FDR_API: {
    schema: { type: 'string', enum: ['soap', 'rest'] },
    default: 'soap',
    description: 'How reporting flows are downloaded: `soap` (`nodoChiedi*` on `PAGOPA_NODE_URL`) or `rest` (FdR 3 organizations API on `PAGOPA_FDR_REST_URL`); either way into the same store and reconciliation',
  },
  PAGOPA_FDR_REST_URL: {
    schema: { type: 'string', format: 'uri', pattern: '^https?://' },
    description: 'Base URL of the FdR 3 organizations API (`/organizations/{organizationId}/fdrs…` is appended); default in production the document’s server `https://api.platform.pagopa.it/fdr-org/service/v1` (UAT `https://api.uat.platform.pagopa.it/fdr-org/service/v1`), in demo the built-in simulator `PUBLIC_URL/simulators/pagopa/fdr-org/service/v1`',
  },
  PAGOPA_FDR_SUBSCRIPTION_KEY: {
    schema: { type: 'string', minLength: 1 },
    secret: true,
    description: 'Subscription key of the FdR organizations product, sent as `Ocp-Apim-Subscription-Key` by the REST client; default `PAGOPA_SUBSCRIPTION_KEY`',
  },
  PAGOPA_STATION_PROXY_SECRET: {
    schema: { type: 'string', minLength: 32, maxLength: 256, pattern: '^[\\x21-\\x7e]+$' },
    secret: true,
    description:
      'Station behind a TLS-terminating proxy that verifies the node’s client certificate: the proxy adds the header `X-Sael-Station-Secret` with this value (≥ 32 printable characters) and the station refuses calls without it',
  },
  PAGOPA_STATION_PROXY_ADDRESSES: {
    schema: { type: 'string', pattern: '^\\s*[0-9a-fA-F:.]+(/\\d{1,3})?\\s*(,\\s*[0-9a-fA-F:.]+(/\\d{1,3})?\\s*)*$' },
    description:
      'Station behind a proxy: comma-separated addresses or CIDR ranges of the proxy (e.g. `10.0.0.5,10.1.0.0/24`); the station refuses connections from any other address (the TCP peer, never `X-Forwarded-For`)',
  },
  PAGOPA_STATION_TLS_PORT: {
    schema: { type: 'integer', minimum: 0, maximum: 65535 },
    description:
      'Station served by sael-pay itself over HTTPS with client certificates: port of a second listener (on `HOST`) that serves only `/pagopa/paForNode`, requires a client certificate signed by `PAGOPA_STATION_TLS_CA_FILE` and matching the pin; then the station refuses calls on the plain port',
  },
  PAGOPA_STATION_TLS_KEY_FILE: {
    schema: { type: 'string', minLength: 1 },
    description: 'PEM private key of the station’s HTTPS listener (with `PAGOPA_STATION_TLS_PORT`)',
  },
  PAGOPA_STATION_TLS_CERT_FILE: {
    schema: { type: 'string', minLength: 1 },
    description: 'PEM certificate (chain) of the station’s HTTPS listener (with `PAGOPA_STATION_TLS_PORT`)',
  },
  PAGOPA_STATION_TLS_CA_FILE: {
    schema: { type: 'string', minLength: 1 },
    description: 'PEM certificate(s) of the CA that issued the node’s client certificate (`forwarder(.uat).platform.pagopa.it`), with `PAGOPA_STATION_TLS_PORT`',
  },
  PAGOPA_STATION_CLIENT_CERT_FINGERPRINTS: {
    schema: { type: 'string', pattern: '^\\s*([0-9A-Fa-f]{2}:?){32}\\s*(,\\s*([0-9A-Fa-f]{2}:?){32}\\s*)*$' },
    description:
      'SHA-256 fingerprints (hex, colons optional, comma-separated: the current and the next certificate) of the node’s client certificate; with `PAGOPA_STATION_TLS_PORT` this or `PAGOPA_STATION_CLIENT_CERT_CN` is required',
  },
  PAGOPA_STATION_CLIENT_CERT_CN: {
    schema: { type: 'string', minLength: 1, maxLength: 200 },
    description: 'Subject CN the node’s client certificate must carry (e.g. `forwarder.platform.pagopa.it`), checked after the chain to `PAGOPA_STATION_TLS_CA_FILE`',
  },
  METRICS_TOKEN: {
    schema: { type: 'string', minLength: 32, maxLength: 256, pattern: '^[\\x21-\\x7e]+$' },
    secret: true,
    description:
      'Bearer token that `/metrics` requires (`Authorization: Bearer <token>`, ≥ 32 printable characters); unset: `/metrics` is open in demo and answers 404 in production',
  },
  API_DOCS: {
    schema: { type: 'string', enum: ['on', 'off'] },
    description:
      'Serve the REST API documentation at `/api/docs` (`on`/`off`); it lists routes and schemas, never keys or data. Default `on` in demo, `off` in production',
  },
  SMTP_URL: {
    schema: { type: 'string', pattern: '^smtps?://' },
    secret: true,
    description: 'SMTP server for helpdesk e-mail notifications (`smtp://user:password@host:587` or `smtps://…:465`); unset: mails stay in the local mailbox page `/helpdesk/posta`',
  },
  MAIL_FROM: {
    schema: { type: 'string', minLength: 3 },
    default: 'SAEL Helpdesk <helpdesk@example.invalid>',
    description: 'Sender of the helpdesk e-mails',
  },
  HELPDESK_NOTIFY_EMAIL: {
    schema: { type: 'string' },
    default: '',
    description: 'Comma-separated addresses of the helpdesk team, notified of new tickets, ente replies and SLA breaches (plus the e-mails of users with the helpdesk role)',
  },
  HELPDESK_BUSINESS_HOURS: {
    schema: { type: 'string', pattern: '^\\s*\\d{1,2}:\\d{2}\\s*-\\s*\\d{1,2}:\\d{2}\\s*(,\\s*\\d{1,2}:\\d{2}\\s*-\\s*\\d{1,2}:\\d{2}\\s*)*$' },
    default: '09:00-13:00,14:00-17:00',
    description: 'Working hours for ticket SLAs (Europe/Rome, Monday–Friday, Italian public holidays and Easter Monday excluded)',
  },
  HELPDESK_EXTRA_HOLIDAYS: {
    schema: { type: 'string', pattern: '^(\\s*(\\d{4}-)?\\d{2}-\\d{2}\\s*(,|$))*$' },
    default: '04-23',
    description: 'Extra non-working days for SLAs, comma-separated `MM-DD` (every year) or `YYYY-MM-DD` (default 23 April, San Giorgio, patron of Campobasso)',
  },
  HELPDESK_AGEING_DAYS: {
    schema: { type: 'integer', minimum: 1, maximum: 60 },
    default: 2,
    description: 'Working days after which money collected but not credited by the treasury appears in the ageing report',
  },
  TICKET_AUTOCLOSE_DAYS: {
    schema: { type: 'integer', minimum: 0, maximum: 365 },
    default: 7,
    description: 'Days after which a resolved ticket not reopened is closed automatically (0 = never)',
  },
  NODE_CALL_RETENTION_DAYS: {
    schema: { type: 'integer', minimum: 0, maximum: 3650 },
    default: 400,
    description: 'Days the node-call log (the pagoPA calls in a payment’s helpdesk timeline) is kept; older lines are deleted a few thousand a minute (0 = kept for ever). Receipts are never deleted',
  },
  HELPDESK_ATTACHMENT_MAX_BYTES: {
    schema: { type: 'integer', minimum: 1024, maximum: 104857600 },
    default: 10485760,
    description: 'Largest ticket attachment in bytes',
  },
  CONSERVAZIONE_STORE: {
    schema: { type: 'string', enum: ['file', 's3'] },
    default: 'file',
    description:
      'Where conservazione keeps its files (write-once, content-addressed): `file` = `DATA_DIR/conservazione/store`, `s3` = an S3-compatible bucket (`CONSERVAZIONE_S3_*`)',
  },
  CONSERVAZIONE_S3_ENDPOINT: {
    schema: { type: 'string', pattern: '^https?://' },
    description: 'Endpoint of the S3-compatible object store (e.g. `https://s3.eu-south-1.amazonaws.com` or a MinIO URL); with `CONSERVAZIONE_STORE=s3`',
  },
  CONSERVAZIONE_S3_BUCKET: {
    schema: { type: 'string', minLength: 3, maxLength: 63 },
    description: 'Bucket of the conservazione files; with `CONSERVAZIONE_STORE=s3`',
  },
  CONSERVAZIONE_S3_REGION: {
    schema: { type: 'string', minLength: 1 },
    default: 'eu-south-1',
    description: 'Region of the bucket',
  },
  CONSERVAZIONE_S3_ACCESS_KEY_ID: {
    schema: { type: 'string', minLength: 1 },
    description: 'Access key of the object store',
  },
  CONSERVAZIONE_S3_SECRET_ACCESS_KEY: {
    schema: { type: 'string', minLength: 1 },
    secret: true,
    description: 'Secret key of the object store',
  },
  CONSERVAZIONE_S3_OBJECT_LOCK_YEARS: {
    schema: { type: 'integer', minimum: 0, maximum: 100 },
    default: 0,
    description: 'Object-lock retention (COMPLIANCE mode) put on every object, in years, where the bucket supports it (0 = none)',
  },
  CONSERVAZIONE_SIGNER_KEY_FILE: {
    schema: { type: 'string', minLength: 1 },
    description:
      'PEM private key of the conservator that signs every PdA index (CAdES detached); with `CONSERVAZIONE_SIGNER_CERT_FILE`. Unset in demo: a test key and certificate are generated into `DATA_DIR/conservazione/signer`',
  },
  CONSERVAZIONE_SIGNER_CERT_FILE: {
    schema: { type: 'string', minLength: 1 },
    description: 'PEM certificate (and its chain) of the conservator’s signing key',
  },
  CONSERVAZIONE_TSA_URL: {
    schema: { type: 'string', pattern: '^https?://' },
    description:
      'RFC 3161 time-stamping service of the PdA indexes and of the daily event-log anchor; with `CONSERVAZIONE_TSA_CERT_FILE`. Unset in demo: the built-in TSA simulator (keys in `DATA_DIR/tsa-simulator`)',
  },
  CONSERVAZIONE_TSA_CERT_FILE: {
    schema: { type: 'string', minLength: 1 },
    description: 'PEM certificate of the TSA, pinned to verify every time stamp',
  },
  CONSERVAZIONE_TRUST_ANCHORS_FILE: {
    schema: { type: 'string', minLength: 1 },
    description:
      'PEM bundle of the certification authorities trusted for the signatures on submitted documents (CAdES, PAdES), e.g. the qualified CAs of the EU trusted list; unset: a valid signature is accepted with the warning SIGNATURE_UNTRUSTED',
  },
  CONSERVAZIONE_AUDIT_CYCLE_DAYS: {
    schema: { type: 'integer', minimum: 1, maximum: 1825 },
    default: 365,
    description: 'Every stored conservazione file is re-hashed at least once in this many days (fixity audit; the law allows at most five years)',
  },
  CONSERVAZIONE_DAILY_HOUR: {
    schema: { type: 'integer', minimum: 0, maximum: 23 },
    default: 2,
    description: 'Hour (Europe/Rome) after which the daily conservazione job preserves the previous day’s receipts and flows',
  },
  EVENTS_IMAGE_MAX_BYTES: {
    schema: { type: 'integer', minimum: 10_000, maximum: 50_000_000 },
    default: 8_000_000,
    description: 'Largest image an ente may upload for an event (bytes); the image is checked by its bytes and resized to WebP variants',
  },
  VAPID_PUBLIC_KEY: {
    schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{80,100}$' },
    description: 'Web Push VAPID public key (base64url, uncompressed P-256 point); with `VAPID_PRIVATE_KEY`. Unset in demo: a key pair is generated at first start into `DATA_DIR/vapid.json`; unset in production: Web Push is off',
  },
  VAPID_PRIVATE_KEY: {
    schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{40,50}$' },
    secret: true,
    description: 'Web Push VAPID private key (base64url); with `VAPID_PUBLIC_KEY`',
  },
  VAPID_SUBJECT: {
    schema: { type: 'string', pattern: '^(mailto:|https://)' },
    description: 'Contact the push services may use about our messages (`mailto:` or `https:` URL); default `mailto:` + `SPID_CONTACT_EMAIL`, or the demo address',
  },
  PUSH_DAILY_CAP: {
    schema: { type: 'integer', minimum: 1, maximum: 100 },
    default: 5,
    description: 'At most this many Web Push notifications per citizen per day (Europe/Rome): a signed-in citizen’s browsers share it, an anonymous browser has its own; the rest are recorded as skipped',
  },
  IO_API_URL: {
    schema: { type: 'string', pattern: '^https?://' },
    description: 'Base URL of the App IO API for services (`/profiles` and `/messages` are appended); default in production `https://api.io.pagopa.it/api/v1`, in demo the built-in IO simulator `PUBLIC_URL/simulators/io/api/v1`',
  },
  NOTIFICATIONS_KEY: {
    schema: { type: 'string', minLength: 32 },
    secret: true,
    description: 'Secret (≥ 32 characters) from which the key that encrypts each ente’s App IO API key is derived; in demo generated at first start into `DATA_DIR/notifications-key`; unset in production: App IO keys cannot be saved',
  },
  NOTIFICATIONS_REMINDER_DAYS: {
    schema: { type: 'integer', minimum: 1, maximum: 60 },
    default: 3,
    description: 'Days before a due date when citizens get a payment reminder (App IO, e-mail, Web Push, as they chose); never for a paid notice',
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingName = keyof typeof SETTINGS;

export interface Config {
  appMode: AppMode;
  isProduction: boolean;
  host: string;
  port: number;
  dataDir: string;
  databaseFile: string;
  /** PostgreSQL instead of the SQLite file (DATABASE_URL). */
  databaseUrl: string | undefined;
  publicUrl: string;
  /** Undefined in demo mode until the data dir provides one (see ensureDemoSecrets). */
  sessionSecret: string | undefined;
  sessionTtlMinutes: number;
  trustProxy: boolean;
  logLevel: string;
  bodyLimitBytes: number;
  rateLimitPerMinute: number;
  importMaxBytes: number;
  importMaxRows: number;
  /** A running job whose heartbeat is older than this is taken over by another process (JOB_STALE_SECONDS). */
  jobStaleMs: number;
  noticeWorkers: number;
  provinceName: string;
  seedDemo: boolean;
  /** Bearer token `/metrics` requires; undefined: open in demo, 404 in production. */
  metricsToken: string | undefined;
  /** Serve `/api/docs` (API_DOCS; default on in demo, off in production). */
  apiDocs: boolean;
  spid: SpidSettings;
  pagopa: PagopaSettings;
  helpdesk: HelpdeskSettings;
  conservazione: ConservazioneSettings;
  events: EventsSettings;
  notifications: NotificationsSettings;
}

/** Territory events (EVENTS_* settings). */
export interface EventsSettings {
  imageMaxBytes: number;
  /** DATA_DIR/files/events: the processed image variants. */
  imagesDir: string;
}

/** Citizen notifications: App IO, Web Push (VAPID), reminders (IO_*, VAPID_*, PUSH_*, NOTIFICATIONS_*). */
export interface NotificationsSettings {
  ioApiUrl: string;
  /** Both set, or both undefined (demo: generated into `vapidFile`; production: Web Push off). */
  vapidPublicKey: string | undefined;
  vapidPrivateKey: string | undefined;
  vapidSubject: string;
  /** DATA_DIR/vapid.json, where demo mode keeps its generated VAPID pair. */
  vapidFile: string;
  pushDailyCap: number;
  /** Undefined in demo until generated (DATA_DIR/notifications-key); undefined in production: IO keys cannot be saved. */
  key: string | undefined;
  keyFile: string;
  reminderDays: number;
  /** Demo mode: generate the VAPID pair and the key at first start. */
  generateDemoKeys: boolean;
}

/** Conservazione: storage, signer, TSA, audit cycle (see CONSERVAZIONE_* settings). */
export interface ConservazioneSettings {
  store: 'file' | 's3';
  /** Set when store = 's3'. */
  s3: { endpoint: string; bucket: string; region: string; accessKeyId: string; secretAccessKey: string; objectLockYears: number } | undefined;
  /** Demo mode: generated signer keys and the in-process TSA simulator stand in for missing settings. */
  demoKeys: boolean;
  /** PEM files of the conservator's key and certificate; undefined in demo (generated). */
  signerKeyFile: string | undefined;
  signerCertFile: string | undefined;
  /** RFC 3161 TSA; undefined in demo (the built-in simulator, in-process). */
  tsaUrl: string | undefined;
  tsaCertFile: string | undefined;
  /** PEM bundle of the CAs trusted for signatures on submitted documents. */
  trustAnchorsFile: string | undefined;
  auditCycleDays: number;
  dailyHour: number;
  /** DATA_DIR/conservazione: the file store, generated keys. */
  dir: string;
}

/** Helpdesk: SLA calendar, ageing, tickets and e-mail. */
export interface HelpdeskSettings {
  smtpUrl: string | undefined;
  mailFrom: string;
  notifyEmails: string[];
  businessHours: string;
  extraHolidays: string[];
  ageingDays: number;
  autoCloseDays: number;
  attachmentMaxBytes: number;
  /** Days of node-call log kept (0: for ever). */
  nodeCallRetentionDays: number;
}

/** pagoPA station (intermediary) settings and the endpoints of PagoPA's services. */
export interface PagopaSettings {
  brokerId: string;
  stationId: string;
  stationPassword: string;
  nodeUrl: string;
  checkoutUrl: string;
  acaUrl: string;
  subscriptionKey: string;
  receiptReplayAnswer: 'OK' | 'PAA_RECEIPT_DUPLICATA';
  fdrIntervalMinutes: number;
  /** Reporting flows over `nodoChiedi*` (soap) or the FdR 3 organizations API (rest). */
  fdrApi: 'soap' | 'rest';
  /** Base URL of the FdR 3 organizations API (no trailing slash). */
  fdrRestUrl: string;
  fdrSubscriptionKey: string;
  /** Worker threads for the station's read-only calls under load (station-pool.ts). */
  stationWorkers: number;
  /** Who may call the station (station-auth.ts). */
  stationAuth: StationAuthSettings;
}

/**
 * The station's callers: behind a TLS-terminating proxy (shared secret header and/or the proxy's
 * addresses) and/or an HTTPS listener of our own requiring the node's client certificate.
 * Nothing set (demo): anyone may call.
 */
export interface StationAuthSettings {
  proxySecret: string | undefined;
  /** Addresses or CIDR ranges of the proxy. */
  proxyAddresses: string[];
  tls: StationTlsSettings | undefined;
}

export interface StationTlsSettings {
  port: number;
  keyFile: string;
  certFile: string;
  caFile: string;
  /** SHA-256 fingerprints, upper-case hex with colons (Node's `fingerprint256` form). */
  fingerprints: string[];
  commonName: string | undefined;
}

/** SAML Service Provider settings (SPID and CIE). */
export interface SpidSettings {
  entityId: string;
  ipaCode: string;
  organizationName: string;
  organizationDisplayName: string;
  organizationUrl: string;
  locality: string;
  contactEmail: string;
  contactPhone: string | undefined;
  idpMetadataDir: string | undefined;
  idpMetadataSignerCert: string | undefined;
  /** AgID registry URL (production default the official one), or undefined when off. */
  registryUrl: string | undefined;
  registryCertFile: string | undefined;
  cieIdpMetadataUrl: string | undefined;
  cieIdpMetadataCertFile: string | undefined;
  /** How often remote IdP metadata is downloaded again. */
  metadataRefreshMs: number;
  metadataTimeoutMs: number;
  /** Last good copies of the remote IdP metadata (`DATA_DIR/saml-metadata`). */
  metadataCacheDir: string;
  certDir: string;
  cieIdpMetadataFile: string | undefined;
  cieEntityId: string;
  cieMunicipality: string;
  cieProvince: string;
  clockSkewMs: number;
  requestTtlMs: number;
}

/** The AgID registry of the SPID IdPs: signed aggregate metadata (spid.md §7). */
export const AGID_SPID_REGISTRY_URL = 'https://registry.spid.gov.it/metadata/idp/spid-entities-idps.xml';

/** Default SP entityID from the public URL: HTTPS, without port, query or trailing slash. */
export function defaultEntityId(publicUrl: string): string {
  const u = new URL(publicUrl);
  return `https://${u.hostname}${u.pathname.replace(/\/+$/, '')}`;
}

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Configurazione non valida:\n${problems.map((p) => `- ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const ajv = addFormats(new Ajv({ allErrors: true, coerceTypes: true, strict: true }));

function buildSchema(production: boolean) {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const [name, spec] of Object.entries(SETTINGS) as [string, SettingSpec][]) {
    properties[name] = spec.schema;
    if (production && spec.requiredInProduction) required.push(name);
  }
  return { type: 'object', properties, required, additionalProperties: true };
}

/**
 * One validator per mode, compiled when first used: a process runs in one mode, and compiling
 * both at import took ~0.2 s of every process's start (CLI commands and test processes included).
 */
const validators: Partial<Record<'demo' | 'production', ValidateFunction>> = {};
const validatorFor = (mode: 'demo' | 'production') => (validators[mode] ??= ajv.compile(buildSchema(mode === 'production')));

/** Reads and validates the settings. Throws ConfigError listing every problem, one per line. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(SETTINGS) as [string, SettingSpec][]) {
    const value = env[name];
    if (value !== undefined && value !== '') raw[name] = value;
    else if (spec.default !== undefined) raw[name] = spec.default;
  }
  const mode = raw.APP_MODE === 'production' ? 'production' : 'demo';
  const validate = validatorFor(mode);
  if (!validate(raw)) {
    const problems = (validate.errors ?? []).map((err) => {
      if (err.keyword === 'required') {
        const name = (err.params as { missingProperty: string }).missingProperty;
        return `${name} manca: è obbligatoria in produzione (${SETTINGS[name as SettingName].description})`;
      }
      const name = err.instancePath.replace(/^\//, '');
      return `${name} non valida (${shownValue(name, env[name])}): ${err.message ?? 'valore non ammesso'}`;
    });
    throw new ConfigError(problems);
  }
  if (mode === 'production' && typeof raw.PUBLIC_URL === 'string' && !raw.PUBLIC_URL.startsWith('https://')) {
    throw new ConfigError([`PUBLIC_URL non valida (${JSON.stringify(raw.PUBLIC_URL)}): in produzione deve iniziare con https://`]);
  }
  const port = raw.PORT as number;
  const dataDir = path.resolve(raw.DATA_DIR as string);
  const publicUrl = ((raw.PUBLIC_URL as string | undefined) ?? `http://localhost:${port}`).replace(/\/+$/, '');
  const str = (name: SettingName) => raw[name] as string | undefined;
  if (mode === 'production' && !str('SPID_ENTITY_ID') && new URL(publicUrl).port) {
    throw new ConfigError(['SPID_ENTITY_ID manca: PUBLIC_URL ha una porta, quindi non può fare da entityID SAML (HTTPS senza porta)']);
  }
  const entityId = str('SPID_ENTITY_ID') ?? defaultEntityId(publicUrl);
  // The AgID registry is on by default in production; its certificate, when the default applies,
  // is checked when the SP starts (loadSpRuntime), so that a minimal configuration still loads.
  const registryUrl = str('SPID_REGISTRY_URL') ?? (mode === 'production' ? AGID_SPID_REGISTRY_URL : undefined);
  const pairProblems: string[] = [];
  if (str('SPID_REGISTRY_URL') && str('SPID_REGISTRY_URL') !== 'off' && !str('SPID_REGISTRY_CERT_FILE')) {
    pairProblems.push(`SPID_REGISTRY_CERT_FILE manca: serve per verificare la firma del registro ${str('SPID_REGISTRY_URL')}`);
  }
  pairProblems.push(...stationTlsProblems(str));
  if (str('CIE_IDP_METADATA_URL') && !str('CIE_IDP_METADATA_CERT_FILE')) {
    pairProblems.push(`CIE_IDP_METADATA_CERT_FILE manca: serve per verificare la firma dei metadati ${str('CIE_IDP_METADATA_URL')}`);
  }
  if (pairProblems.length) throw new ConfigError(pairProblems);
  const organizationName = str('SPID_ORGANIZATION_NAME') ?? (raw.PROVINCE_NAME as string);
  const spid: SpidSettings = Object.freeze({
    entityId,
    ipaCode: str('SPID_IPA_CODE') ?? 'p_cb',
    organizationName,
    organizationDisplayName: str('SPID_ORGANIZATION_DISPLAY_NAME') ?? organizationName,
    organizationUrl: str('SPID_ORGANIZATION_URL') ?? publicUrl,
    locality: raw.SPID_LOCALITY as string,
    contactEmail: str('SPID_CONTACT_EMAIL') ?? 'sael@example.invalid',
    contactPhone: str('SPID_CONTACT_PHONE'),
    idpMetadataDir: str('SPID_IDP_METADATA_DIR') && path.resolve(str('SPID_IDP_METADATA_DIR')!),
    idpMetadataSignerCert: str('SPID_IDP_METADATA_SIGNER_CERT') && path.resolve(str('SPID_IDP_METADATA_SIGNER_CERT')!),
    registryUrl: registryUrl === 'off' ? undefined : registryUrl,
    registryCertFile: str('SPID_REGISTRY_CERT_FILE') && path.resolve(str('SPID_REGISTRY_CERT_FILE')!),
    cieIdpMetadataUrl: str('CIE_IDP_METADATA_URL'),
    cieIdpMetadataCertFile: str('CIE_IDP_METADATA_CERT_FILE') && path.resolve(str('CIE_IDP_METADATA_CERT_FILE')!),
    metadataRefreshMs: (raw.SPID_REGISTRY_REFRESH_HOURS as number) * 3_600_000,
    metadataTimeoutMs: (raw.SPID_REGISTRY_TIMEOUT_SECONDS as number) * 1000,
    metadataCacheDir: path.join(dataDir, 'saml-metadata'),
    certDir: path.resolve(str('SPID_CERT_DIR') ?? path.join(dataDir, 'spid-sp')),
    cieIdpMetadataFile: str('CIE_IDP_METADATA_FILE') && path.resolve(str('CIE_IDP_METADATA_FILE')!),
    cieEntityId: str('CIE_ENTITY_ID') ?? entityId,
    cieMunicipality: raw.CIE_MUNICIPALITY as string,
    cieProvince: raw.CIE_PROVINCE as string,
    clockSkewMs: (raw.SPID_CLOCK_SKEW_SECONDS as number) * 1000,
    requestTtlMs: (raw.SPID_REQUEST_TTL_MINUTES as number) * 60_000,
  });
  return Object.freeze({
    appMode: mode,
    isProduction: mode === 'production',
    host: raw.HOST as string,
    port,
    dataDir,
    databaseFile: path.join(dataDir, 'sael-pay.sqlite'),
    databaseUrl: str('DATABASE_URL'),
    publicUrl,
    sessionSecret: raw.SESSION_SECRET as string | undefined,
    sessionTtlMinutes: raw.SESSION_TTL_MINUTES as number,
    trustProxy: raw.TRUST_PROXY as boolean,
    logLevel: raw.LOG_LEVEL as string,
    bodyLimitBytes: raw.BODY_LIMIT_BYTES as number,
    rateLimitPerMinute: raw.RATE_LIMIT_PER_MINUTE as number,
    importMaxBytes: raw.IMPORT_MAX_BYTES as number,
    importMaxRows: raw.IMPORT_MAX_ROWS as number,
    jobStaleMs: (raw.JOB_STALE_SECONDS as number) * 1000,
    noticeWorkers: raw.NOTICE_WORKERS as number,
    provinceName: raw.PROVINCE_NAME as string,
    seedDemo: raw.SEED_DEMO as boolean,
    metricsToken: str('METRICS_TOKEN'),
    apiDocs: (str('API_DOCS') ?? (mode === 'production' ? 'off' : 'on')) === 'on',
    spid,
    pagopa: pagopaSettings(raw, publicUrl, mode === 'production'),
    helpdesk: Object.freeze({
      smtpUrl: str('SMTP_URL'),
      mailFrom: raw.MAIL_FROM as string,
      notifyEmails: String(raw.HELPDESK_NOTIFY_EMAIL ?? '').split(',').map((x) => x.trim()).filter(Boolean),
      businessHours: raw.HELPDESK_BUSINESS_HOURS as string,
      extraHolidays: String(raw.HELPDESK_EXTRA_HOLIDAYS ?? '').split(',').map((x) => x.trim()).filter(Boolean),
      ageingDays: raw.HELPDESK_AGEING_DAYS as number,
      autoCloseDays: raw.TICKET_AUTOCLOSE_DAYS as number,
      attachmentMaxBytes: raw.HELPDESK_ATTACHMENT_MAX_BYTES as number,
      nodeCallRetentionDays: raw.NODE_CALL_RETENTION_DAYS as number,
    }),
    conservazione: conservazioneSettings(raw, dataDir, mode === 'production'),
    events: Object.freeze({
      imageMaxBytes: raw.EVENTS_IMAGE_MAX_BYTES as number,
      imagesDir: path.join(dataDir, 'files', 'events'),
    }),
    notifications: notificationsSettings(raw, dataDir, publicUrl, mode === 'production'),
  });
}

function notificationsSettings(raw: Record<string, unknown>, dataDir: string, publicUrl: string, production: boolean): NotificationsSettings {
  const str = (name: SettingName) => raw[name] as string | undefined;
  if (Boolean(str('VAPID_PUBLIC_KEY')) !== Boolean(str('VAPID_PRIVATE_KEY'))) {
    throw new ConfigError(['VAPID_PUBLIC_KEY e VAPID_PRIVATE_KEY vanno indicate insieme']);
  }
  const contact = str('SPID_CONTACT_EMAIL');
  return Object.freeze({
    ioApiUrl: (str('IO_API_URL') ?? (production ? 'https://api.io.pagopa.it/api/v1' : `${publicUrl}/simulators/io/api/v1`)).replace(/\/+$/, ''),
    vapidPublicKey: str('VAPID_PUBLIC_KEY'),
    vapidPrivateKey: str('VAPID_PRIVATE_KEY'),
    vapidSubject: str('VAPID_SUBJECT') ?? (contact ? `mailto:${contact}` : 'mailto:sael@example.invalid'),
    vapidFile: path.join(dataDir, 'vapid.json'),
    pushDailyCap: raw.PUSH_DAILY_CAP as number,
    key: str('NOTIFICATIONS_KEY'),
    keyFile: path.join(dataDir, 'notifications-key'),
    reminderDays: raw.NOTIFICATIONS_REMINDER_DAYS as number,
    generateDemoKeys: !production,
  });
}

/**
 * In production without CONSERVAZIONE_SIGNER_* and CONSERVAZIONE_TSA_* the conservazione is not
 * configured: PdV are still checked and stored, PdA are not built (the pages say so).
 */
function conservazioneSettings(raw: Record<string, unknown>, dataDir: string, production: boolean): ConservazioneSettings {
  const str = (name: SettingName) => raw[name] as string | undefined;
  const problems: string[] = [];
  const store = (str('CONSERVAZIONE_STORE') ?? 'file') as 'file' | 's3';
  let s3: ConservazioneSettings['s3'];
  if (store === 's3') {
    const need = ['CONSERVAZIONE_S3_ENDPOINT', 'CONSERVAZIONE_S3_BUCKET', 'CONSERVAZIONE_S3_ACCESS_KEY_ID', 'CONSERVAZIONE_S3_SECRET_ACCESS_KEY'] as const;
    for (const n of need) if (!str(n)) problems.push(`${n} manca: serve con CONSERVAZIONE_STORE=s3`);
    if (!problems.length) {
      s3 = Object.freeze({
        endpoint: str('CONSERVAZIONE_S3_ENDPOINT')!,
        bucket: str('CONSERVAZIONE_S3_BUCKET')!,
        region: str('CONSERVAZIONE_S3_REGION') ?? 'eu-south-1',
        accessKeyId: str('CONSERVAZIONE_S3_ACCESS_KEY_ID')!,
        secretAccessKey: str('CONSERVAZIONE_S3_SECRET_ACCESS_KEY')!,
        objectLockYears: (raw.CONSERVAZIONE_S3_OBJECT_LOCK_YEARS as number | undefined) ?? 0,
      });
    }
  }
  if (Boolean(str('CONSERVAZIONE_SIGNER_KEY_FILE')) !== Boolean(str('CONSERVAZIONE_SIGNER_CERT_FILE'))) {
    problems.push('CONSERVAZIONE_SIGNER_KEY_FILE e CONSERVAZIONE_SIGNER_CERT_FILE vanno indicate insieme');
  }
  if (Boolean(str('CONSERVAZIONE_TSA_URL')) !== Boolean(str('CONSERVAZIONE_TSA_CERT_FILE'))) {
    problems.push('CONSERVAZIONE_TSA_URL e CONSERVAZIONE_TSA_CERT_FILE vanno indicate insieme');
  }
  if (problems.length) throw new ConfigError(problems);
  const file = (name: SettingName) => (str(name) ? path.resolve(str(name)!) : undefined);
  return Object.freeze({
    store,
    s3,
    demoKeys: !production,
    signerKeyFile: file('CONSERVAZIONE_SIGNER_KEY_FILE'),
    signerCertFile: file('CONSERVAZIONE_SIGNER_CERT_FILE'),
    tsaUrl: str('CONSERVAZIONE_TSA_URL'),
    tsaCertFile: file('CONSERVAZIONE_TSA_CERT_FILE'),
    trustAnchorsFile: file('CONSERVAZIONE_TRUST_ANCHORS_FILE'),
    auditCycleDays: raw.CONSERVAZIONE_AUDIT_CYCLE_DAYS as number,
    dailyHour: raw.CONSERVAZIONE_DAILY_HOUR as number,
    dir: path.join(dataDir, 'conservazione'),
  });
}

/** The server of fdr_organization.json (`servers[0].url`). */
export const FDR_REST_PRODUCTION_URL = 'https://api.platform.pagopa.it/fdr-org/service/v1';

function pagopaSettings(raw: Record<string, unknown>, publicUrl: string, production: boolean): PagopaSettings {
  const str = (name: SettingName) => raw[name] as string | undefined;
  const brokerId = str('PAGOPA_BROKER_ID') ?? '90700000004';
  const sim = `${publicUrl}/simulators/pagopa`;
  return Object.freeze({
    brokerId,
    stationId: str('PAGOPA_STATION_ID') ?? `${brokerId}_01`,
    stationPassword: str('PAGOPA_STATION_PASSWORD') ?? 'SaelDemo2026',
    nodeUrl: str('PAGOPA_NODE_URL') ?? `${sim}/nodo/node-for-pa`,
    checkoutUrl: (str('PAGOPA_CHECKOUT_URL') ?? `${sim}/checkout/ec/v2`).replace(/\/+$/, ''),
    acaUrl: (str('PAGOPA_ACA_URL') ?? `${sim}/aca`).replace(/\/+$/, ''),
    subscriptionKey: str('PAGOPA_SUBSCRIPTION_KEY') ?? 'demo-subscription-key',
    receiptReplayAnswer: raw.PAGOPA_RECEIPT_REPLAY_ANSWER as PagopaSettings['receiptReplayAnswer'],
    fdrIntervalMinutes: raw.PAGOPA_FDR_INTERVAL_MINUTES as number,
    fdrApi: raw.PAGOPA_FDR_API as PagopaSettings['fdrApi'],
    fdrRestUrl: (str('PAGOPA_FDR_REST_URL') ?? (production ? FDR_REST_PRODUCTION_URL : `${sim}/fdr-org/service/v1`)).replace(/\/+$/, ''),
    fdrSubscriptionKey: str('PAGOPA_FDR_SUBSCRIPTION_KEY') ?? str('PAGOPA_SUBSCRIPTION_KEY') ?? 'demo-subscription-key',
    stationWorkers: raw.PAGOPA_STATION_WORKERS as number,
    stationAuth: Object.freeze({
      proxySecret: str('PAGOPA_STATION_PROXY_SECRET'),
      proxyAddresses: list(str('PAGOPA_STATION_PROXY_ADDRESSES')),
      tls:
        raw.PAGOPA_STATION_TLS_PORT === undefined
          ? undefined
          : Object.freeze({
              port: raw.PAGOPA_STATION_TLS_PORT as number,
              keyFile: path.resolve(str('PAGOPA_STATION_TLS_KEY_FILE')!),
              certFile: path.resolve(str('PAGOPA_STATION_TLS_CERT_FILE')!),
              caFile: path.resolve(str('PAGOPA_STATION_TLS_CA_FILE')!),
              fingerprints: list(str('PAGOPA_STATION_CLIENT_CERT_FINGERPRINTS')).map(normalizeFingerprint),
              commonName: str('PAGOPA_STATION_CLIENT_CERT_CN'),
            }),
    }),
  });
}

const list = (s: string | undefined) => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);

/** `ab:cd…` or `abcd…` → `AB:CD:…` (the form of Node's `fingerprint256`). */
export function normalizeFingerprint(fp: string): string {
  return fp.replace(/:/g, '').toUpperCase().match(/../g)!.join(':');
}

/** How a bad value appears in an error: quoted, unless the setting is a credential. */
function shownValue(name: string, value: string | undefined): string {
  const spec = (SETTINGS as Record<string, SettingSpec>)[name];
  if (spec?.secret) return `valore nascosto, ${(value ?? '').length} caratteri`;
  return JSON.stringify(value ?? '');
}

function stationTlsProblems(str: (name: SettingName) => string | undefined): string[] {
  const files = ['PAGOPA_STATION_TLS_KEY_FILE', 'PAGOPA_STATION_TLS_CERT_FILE', 'PAGOPA_STATION_TLS_CA_FILE'] as const;
  const pins = ['PAGOPA_STATION_CLIENT_CERT_FINGERPRINTS', 'PAGOPA_STATION_CLIENT_CERT_CN'] as const;
  if (str('PAGOPA_STATION_TLS_PORT') === undefined) {
    return [...files, ...pins].filter((n) => str(n)).map((n) => `${n} non serve senza PAGOPA_STATION_TLS_PORT (la porta HTTPS della stazione)`);
  }
  const problems = files.filter((n) => !str(n)).map((n) => `${n} manca: serve alla porta HTTPS della stazione (PAGOPA_STATION_TLS_PORT)`);
  if (!pins.some((n) => str(n))) {
    problems.push(
      'PAGOPA_STATION_CLIENT_CERT_FINGERPRINTS o PAGOPA_STATION_CLIENT_CERT_CN manca: indica quale certificato client è quello del nodo (una CA pubblica ne firma molti)',
    );
  }
  return problems;
}

/**
 * What must hold before a server starts, beyond the values' form: the files and folders the
 * settings name exist, the SAML IdPs have a source, and (production) the station knows its caller.
 * Read from the environment, so that server.ts lists these with loadConfig's problems at once.
 */
export function startupProblems(env: NodeJS.ProcessEnv = process.env): string[] {
  const get = (name: SettingName) => (env[name] !== undefined && env[name] !== '' ? env[name] : undefined);
  const production = get('APP_MODE') === 'production';
  const problems: string[] = [];
  const registry = get('SPID_REGISTRY_URL') ?? (production ? AGID_SPID_REGISTRY_URL : undefined);
  if (production && registry && registry !== 'off' && !get('SPID_REGISTRY_CERT_FILE')) {
    problems.push(
      `SPID_REGISTRY_CERT_FILE manca: gli IdP SPID vengono dal registro AgID (${registry}), la cui firma si verifica con il certificato AgID; in alternativa SPID_REGISTRY_URL=off e gli IdP in SPID_IDP_METADATA_DIR`,
    );
  }
  const files: SettingName[] = [
    'SPID_REGISTRY_CERT_FILE',
    'SPID_IDP_METADATA_SIGNER_CERT',
    'CIE_IDP_METADATA_FILE',
    'CIE_IDP_METADATA_CERT_FILE',
    'PAGOPA_STATION_TLS_KEY_FILE',
    'PAGOPA_STATION_TLS_CERT_FILE',
    'PAGOPA_STATION_TLS_CA_FILE',
    'CONSERVAZIONE_SIGNER_KEY_FILE',
    'CONSERVAZIONE_SIGNER_CERT_FILE',
    'CONSERVAZIONE_TSA_CERT_FILE',
    'CONSERVAZIONE_TRUST_ANCHORS_FILE',
  ];
  for (const name of files) {
    const file = get(name);
    if (file && !isReadableFile(path.resolve(file))) problems.push(`${name} non valida: il file ${path.resolve(file)} non esiste o non è leggibile`);
  }
  const dir = get('SPID_IDP_METADATA_DIR');
  if (dir) {
    const abs = path.resolve(dir);
    const xml = xmlFilesIn(abs);
    if (xml === null) problems.push(`SPID_IDP_METADATA_DIR non valida: la cartella ${abs} non esiste o non è leggibile`);
    else if (xml === 0) problems.push(`SPID_IDP_METADATA_DIR non valida: la cartella ${abs} non contiene metadati (*.xml)`);
  } else if (production && registry === 'off') {
    problems.push('SPID_IDP_METADATA_DIR manca: con SPID_REGISTRY_URL=off gli IdP SPID vanno elencati in questa cartella');
  }
  const stationAuth = ['PAGOPA_STATION_PROXY_SECRET', 'PAGOPA_STATION_PROXY_ADDRESSES', 'PAGOPA_STATION_TLS_PORT'] as const;
  if (production && !stationAuth.some((n) => get(n))) {
    problems.push(
      'PAGOPA_STATION_PROXY_SECRET, PAGOPA_STATION_PROXY_ADDRESSES o PAGOPA_STATION_TLS_PORT manca: in produzione la stazione risponde solo al nodo pagoPA (dietro un proxy TLS o con la sua porta HTTPS e il certificato client del nodo)',
    );
  }
  return problems;
}

function isReadableFile(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.R_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Number of `*.xml` files in a folder, or null when it cannot be read. */
function xmlFilesIn(dir: string): number | null {
  try {
    return fs.readdirSync(dir).filter((f) => f.toLowerCase().endsWith('.xml')).length;
  } catch {
    return null;
  }
}

/**
 * loadConfig plus startupProblems, every problem in one ConfigError (server.ts: exit 78).
 */
export function loadConfigForStart(env: NodeJS.ProcessEnv = process.env): Config {
  const problems = startupProblems(env);
  let config: Config | undefined;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.unshift(...err.problems.filter((p) => !problems.includes(p)));
  }
  if (problems.length > 0 || !config) throw new ConfigError(problems);
  return config;
}
