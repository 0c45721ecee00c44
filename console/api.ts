/**
 * The console's one way to reach the edge: fetch on the PUBLIC API (`/api/v1`, the OpenAPI
 * document) with the session cookie, adding the `X-CSRF-Token` header to every state-changing
 * request (the server refuses one without it: docs/console.md "CSRF"). Errors come back as
 * `ApiError` carrying the API's `{ error: { code, message, field? } }`, for pages to show.
 */

/** What `GET /auth/session` answers (workers/console/session-route.ts). */
export interface SessionInfo {
  signedIn: boolean;
  identity?: { issuer: string; subject: string; email?: string; name?: string; groups: string[] };
  isAdmin?: boolean;
  csrfToken?: string;
  /** Epoch milliseconds. */
  expiresAt?: number;
}

/** An API refusal or failure, with the server's code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export class ApiClient {
  constructor(
    private readonly csrfToken: string,
    /** Called on 401: the session ended (expired, or signed out in another tab). */
    private readonly onSignedOut: () => void = () => {},
  ) {}

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }
  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }
  put<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }
  patch<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body);
  }
  del<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  /** `path` is under /api/v1 (`/approvals`), or absolute from the origin (`/auth/...`). */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = path.startsWith('/api/') || path.startsWith('/auth/') ? path : `/api/v1${path}`;
    // A page builds paths from its URL (`#/sessions/<id>`): a dot segment there would let a
    // crafted link point the page's request at another route of the API.
    if (/(^|\/)\.{1,2}(\/|$)/.test(url.split(/[?#]/)[0]!))
      throw new ApiError(400, 'invalid_path', `not a path of the API: ${url}`);
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (UNSAFE.has(method)) headers['X-CSRF-Token'] = this.csrfToken;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(url, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    if (res.status === 401) this.onSignedOut();
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const err = (parsed as { error?: { code?: string; message?: string; field?: string } })?.error;
      throw new ApiError(
        res.status,
        err?.code ?? `http_${res.status}`,
        err?.message ?? `${method} ${url}: HTTP ${res.status}`,
        err?.field,
      );
    }
    return parsed as T;
  }
}

/** The signed-in session, or `{ signedIn: false }`. */
export async function loadSession(): Promise<SessionInfo> {
  const res = await fetch('/auth/session', {
    credentials: 'same-origin',
    headers: { Accept: 'application/json' },
  });
  if (!res.ok) return { signedIn: false };
  return (await res.json()) as SessionInfo;
}
