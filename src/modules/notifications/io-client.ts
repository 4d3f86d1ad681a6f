/**
 * App IO API for services (io-services-api.yaml, swagger 2.0 v4): the three calls the platform
 * makes, with the service's key in `Ocp-Apim-Subscription-Key`. Each answer is classified for the
 * dispatcher: 404 / sender_allowed false → not allowed; 429, 5xx, network, timeout → retry; other
 * 4xx → refused for good.
 */

export type IoOutcome<T> = { ok: true; value: T } | { ok: false; retry: boolean; status: number | null; error: string };

export interface IoClientOptions {
  baseUrl: string;
  apiKey: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

const TIMEOUT_MS = 15_000;

async function call(opts: IoClientOptions, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: unknown } | { status: null; error: string }> {
  const f = opts.fetch ?? fetch;
  try {
    const res = await f(`${opts.baseUrl}${path}`, {
      method,
      headers: { 'Ocp-Apim-Subscription-Key': opts.apiKey, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(opts.timeoutMs ?? TIMEOUT_MS),
    });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return { status: res.status, json };
  } catch (e) {
    return { status: null, error: (e as Error).name === 'TimeoutError' ? 'timeout' : `rete: ${(e as Error).message}` };
  }
}

function failure(r: { status: number; json: unknown } | { status: null; error: string }): { ok: false; retry: boolean; status: number | null; error: string } {
  if (r.status === null) return { ok: false, retry: true, status: null, error: r.error };
  const detail = r.json && typeof r.json === 'object' ? ((r.json as { detail?: unknown; title?: unknown }).detail ?? (r.json as { title?: unknown }).title) : undefined;
  const error = `HTTP ${r.status}${typeof detail === 'string' ? `: ${detail.slice(0, 300)}` : ''}`;
  return { ok: false, retry: r.status === 429 || r.status >= 500, status: r.status, error };
}

/** POST /profiles: `null` when the citizen is not on IO (404). */
export async function getProfile(opts: IoClientOptions, fiscalCode: string): Promise<IoOutcome<{ senderAllowed: boolean } | null>> {
  const r = await call(opts, 'POST', '/profiles', { fiscal_code: fiscalCode });
  if (r.status === 200) return { ok: true, value: { senderAllowed: (r.json as { sender_allowed?: unknown })?.sender_allowed === true } };
  if (r.status === 404) return { ok: true, value: null };
  return failure(r);
}

/** POST /messages (fiscal code in the body): the new message's id. */
export async function submitMessage(opts: IoClientOptions, message: Record<string, unknown>): Promise<IoOutcome<{ id: string }>> {
  const r = await call(opts, 'POST', '/messages', message);
  const id = r.status === 201 ? (r.json as { id?: unknown })?.id : undefined;
  if (typeof id === 'string' && id) return { ok: true, value: { id } };
  if (r.status === 201) return { ok: false, retry: false, status: 201, error: 'risposta 201 senza id del messaggio' };
  return failure(r);
}

/** GET /messages/{fiscal_code}/{id}: the processing status (ACCEPTED, THROTTLED, FAILED, PROCESSED, REJECTED). */
export async function getMessageStatus(opts: IoClientOptions, fiscalCode: string, id: string): Promise<IoOutcome<{ status: string } | null>> {
  const r = await call(opts, 'GET', `/messages/${encodeURIComponent(fiscalCode)}/${encodeURIComponent(id)}`);
  if (r.status === 200) {
    const status = (r.json as { status?: unknown })?.status;
    return { ok: true, value: { status: typeof status === 'string' ? status : 'ACCEPTED' } };
  }
  if (r.status === 404) return { ok: true, value: null };
  return failure(r);
}
