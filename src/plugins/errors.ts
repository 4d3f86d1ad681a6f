/**
 * One place that turns errors into answers: an Italian HTML page (no stack trace) for browsers,
 * RFC 9457 problem details (`application/problem+json`) for the API and other clients.
 * Unknown paths answer 404, known paths with another method 405 with an `Allow` header.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import FindMyWay from 'find-my-way';

export class HttpError extends Error {
  constructor(
    public readonly statusCode: number,
    message: string,
    public readonly fields?: FieldError[],
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface FieldError {
  field: string;
  message: string;
  /** JSON pointer into the request body (API errors). */
  pointer?: string;
}

/** `paymentOptions[1].transfers[0].iban` → `/paymentOptions/1/transfers/0/iban`. */
export function fieldPathToPointer(path: string): string {
  return `/${path.replace(/\[(\d+)\]/g, '.$1').split('.').filter(Boolean).join('/')}`;
}

export const STATUS_TITLES: Record<number, string> = {
  400: 'Richiesta non valida',
  401: 'Accesso richiesto',
  403: 'Accesso negato',
  404: 'Pagina non trovata',
  405: 'Metodo non consentito',
  409: 'Conflitto con lo stato attuale',
  413: 'Contenuto troppo grande',
  415: 'Tipo di contenuto non supportato',
  422: 'Dati non validi',
  429: 'Troppe richieste',
  500: 'Errore interno',
  503: 'Servizio non disponibile',
};

const DEFAULT_DETAILS: Record<number, string> = {
  404: 'La pagina che cerchi non esiste o è stata spostata.',
  405: 'Questa operazione non è consentita su questo indirizzo.',
  413: 'Il contenuto inviato supera la dimensione massima consentita.',
  415: 'Il formato dei dati inviati non è supportato.',
  429: 'Hai inviato troppe richieste in poco tempo: riprova tra un minuto.',
  500: 'Si è verificato un errore imprevisto. Riprova più tardi; se il problema persiste contatta l’assistenza.',
};

interface AjvLikeError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/** Italian, field-named messages from ajv validation errors. */
export function fieldErrorsFromValidation(errors: AjvLikeError[], context?: string): FieldError[] {
  return errors.map((e) => {
    const base = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
    const prop = (e.params.missingProperty ?? e.params.additionalProperty) as string | undefined;
    const field = [context && context !== 'body' ? context : '', base, prop ?? ''].filter(Boolean).join('.') || (context ?? 'body');
    const pointer = `${e.instancePath}${prop ? `/${prop}` : ''}` || '/';
    return { field, message: ajvMessage(e), ...(context === 'body' ? { pointer } : {}) };
  });
}

function ajvMessage(e: AjvLikeError): string {
  switch (e.keyword) {
    case 'required':
      return 'campo obbligatorio';
    case 'type':
      return `tipo non valido (atteso ${String(e.params.type)})`;
    case 'pattern':
    case 'format':
      return 'formato non valido';
    case 'minLength':
      return `troppo corto (minimo ${String(e.params.limit)} caratteri)`;
    case 'maxLength':
      return `troppo lungo (massimo ${String(e.params.limit)} caratteri)`;
    case 'minimum':
    case 'exclusiveMinimum':
      return `valore troppo piccolo (minimo ${String(e.params.limit)})`;
    case 'maximum':
    case 'exclusiveMaximum':
      return `valore troppo grande (massimo ${String(e.params.limit)})`;
    case 'enum':
      return `valore non ammesso (ammessi: ${(e.params.allowedValues as unknown[]).join(', ')})`;
    case 'additionalProperties':
      return 'campo non previsto';
    case 'minItems':
      return `troppo pochi elementi (minimo ${String(e.params.limit)})`;
    case 'maxItems':
      return `troppi elementi (massimo ${String(e.params.limit)})`;
    default:
      return e.message ?? 'valore non valido';
  }
}

/** API clients (and anything not asking for HTML) get problem+json. */
export function wantsHtml(request: FastifyRequest): boolean {
  if (request.url.startsWith('/api/')) return false;
  return (request.headers.accept ?? '').includes('text/html');
}

export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  detail: string,
  fields?: FieldError[],
): FastifyReply {
  const title = STATUS_TITLES[status] ?? 'Errore';
  if (wantsHtml(request)) {
    return reply.code(status).type('text/html; charset=utf-8').page('errors/error', { title, status, detail, fields });
  }
  return reply
    .code(status)
    .type('application/problem+json; charset=utf-8')
    .send({ type: 'about:blank', title, status, detail, instance: pathOf(request.url), ...(fields ? { errors: fields } : {}) });
}

/** The path of a request URL, without its query (which may hold tokens or fiscal codes). */
export function pathOf(url: string): string {
  return url.split('?', 1)[0] || '/';
}

/**
 * Errors of the multipart parser (@fastify/busboy) on a malformed body: no boundary, a boundary
 * over 256 characters, a body without its closing boundary. They carry no HTTP status.
 */
const MULTIPART_PARSE_ERRORS = [
  /^Multipart: Boundary not found$/,
  /^The needle cannot have a length bigger than 256\.$/,
  /^Boundary required$/,
  /^Unexpected end of multipart data$/,
  /terminated early due to unexpected end of multipart data$/,
  /^Malformed part header$/,
];

export function isMalformedMultipart(error: { message?: string; statusCode?: number; code?: string }): boolean {
  if (error.code === 'FST_MP_PREMATURE_CLOSE') return true;
  return error.statusCode === undefined && MULTIPART_PARSE_ERRORS.some((re) => re.test(error.message ?? ''));
}

const MALFORMED_MULTIPART =
  'Il modulo inviato non è leggibile (multipart/form-data non valido o incompleto). Ricarica la pagina e invia di nuovo il file.';

/**
 * Fastify's `frameworkErrors` (buildApp): a URL it cannot decode (`/comuni/%ff`) answers with our
 * error page or problem+json and the security headers, not Fastify's bare JSON. Hooks do not run
 * for these requests, so the headers are applied here.
 */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const server = request.server as FastifyInstance & {
    applySecurityHeaders?: (req: FastifyRequest['raw'], res: FastifyReply['raw']) => void;
    view?: (template: string, data: Record<string, unknown>) => Promise<string>;
  };
  server.applySecurityHeaders?.(request.raw, reply.raw);
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  const title = STATUS_TITLES[status] ?? 'Errore';
  const detail = 'L’indirizzo richiesto non è valido.';
  const problem = () =>
    reply.code(status).type('application/problem+json; charset=utf-8').send({ type: 'about:blank', title, status, detail, instance: pathOf(request.url) });
  // This reply is a bare one (no decorators such as page()): the page is rendered through the app's view.
  if (!wantsHtml(request) || typeof server.view !== 'function') return void problem();
  server
    .view('errors/error.hbs', {
      title,
      status,
      detail,
      provinceName: server.config.provinceName,
      demo: !server.config.isProduction,
      user: null,
      scriptNonce: (reply.raw as { scriptNonce?: string }).scriptNonce,
      currentPath: pathOf(request.url),
    })
    .then((html) => reply.code(status).type('text/html; charset=utf-8').send(html))
    .catch(() => problem());
}

export default fp(
  async function errorsPlugin(app: FastifyInstance) {
    // A shadow router of every declared route, to tell 405 from 404.
    const router = FindMyWay();
    app.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      for (const method of methods) {
        if (!router.hasRoute(method as 'GET', route.url)) router.on(method as 'GET', route.url, () => {});
      }
    });

    app.setNotFoundHandler((request, reply) => {
      const path = pathOf(request.url);
      const allowed = (['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const).filter(
        (m) => m !== request.method && router.find(m, path) !== null,
      );
      if (allowed.length > 0) {
        reply.header('allow', allowed.join(', '));
        return sendProblem(request, reply, 405, DEFAULT_DETAILS[405]!);
      }
      return sendProblem(request, reply, 404, DEFAULT_DETAILS[404]!);
    });

    app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
      if (error instanceof HttpError) {
        return sendProblem(request, reply, error.statusCode, error.message, error.fields);
      }
      const fe = error as FastifyError;
      if (fe.validation) {
        const fields = fieldErrorsFromValidation(fe.validation as AjvLikeError[], fe.validationContext);
        const detail = `Dati non validi: ${fields.map((f) => `${f.field} (${f.message})`).join('; ')}`;
        return sendProblem(request, reply, 400, detail, fields);
      }
      if (isMalformedMultipart(fe)) {
        request.log.warn({ err: fe.message }, 'malformed multipart body');
        return sendProblem(request, reply, 400, MALFORMED_MULTIPART, [{ field: 'body', message: 'multipart/form-data non valido' }]);
      }
      const status = fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 600 ? fe.statusCode : 500;
      if (status >= 500) {
        request.log.error({ err: error }, 'request failed');
        return sendProblem(request, reply, status, DEFAULT_DETAILS[500]!);
      }
      if (fe.code === 'FST_CSRF_INVALID_TOKEN' || fe.code === 'FST_CSRF_MISSING_SECRET') {
        request.log.warn({ code: fe.code }, 'csrf check failed');
        return sendProblem(
          request,
          reply,
          403,
          'Il modulo è scaduto o non proviene da questo sito (verifica CSRF non superata). Ricarica la pagina e riprova.',
        );
      }
      if (fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
        return sendProblem(request, reply, 400, 'Il corpo della richiesta non è JSON valido.', [
          { field: 'body', message: 'JSON non valido' },
        ]);
      }
      return sendProblem(request, reply, status, DEFAULT_DETAILS[status] ?? error.message);
    });
  },
  { name: 'errors' },
);
