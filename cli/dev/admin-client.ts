/** A small client for the admin API, used by `postern dev` seeding and the tests. */
export class AdminClient {
  constructor(
    readonly edgeUrl: string,
    private readonly token: string,
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${this.edgeUrl}/api/v1${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${this.token}`,
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON; keep the text for the error message
    }
    return { status: res.status, body: parsed as T };
  }

  async #ok<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.request<T>(method, path, body);
    if (res.status >= 300) {
      throw new Error(`admin API ${method} ${path} → HTTP ${res.status}: ${JSON.stringify(res.body)}`);
    }
    return res.body;
  }

  get<T>(path: string): Promise<T> {
    return this.#ok<T>('GET', path);
  }
  post<T>(path: string, body: unknown): Promise<T> {
    return this.#ok<T>('POST', path, body);
  }
  patch<T>(path: string, body: unknown): Promise<T> {
    return this.#ok<T>('PATCH', path, body);
  }
  put<T>(path: string, body: unknown): Promise<T> {
    return this.#ok<T>('PUT', path, body);
  }
  async del(path: string, ignoreMissing = false): Promise<void> {
    const res = await this.request('DELETE', path);
    if (res.status === 404 && ignoreMissing) return;
    if (res.status >= 300)
      throw new Error(`admin API DELETE ${path} → HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  }
  async exists(path: string): Promise<boolean> {
    return (await this.request('GET', path)).status === 200;
  }

  /** Waits until a connector has at least `n` live replicas. */
  async waitForReplicas(connector: string, n: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const c = await this.get<{ replicas?: unknown[] }>(`/connectors/${connector}`);
      if ((c.replicas?.length ?? 0) >= n) return;
      if (Date.now() > deadline)
        throw new Error(`connector ${connector} has fewer than ${n} live replicas after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
