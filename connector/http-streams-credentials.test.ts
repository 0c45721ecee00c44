/**
 * The connector's side of a Kubernetes data channel (shared setup: ./http-streams-harness.ts).
 * How the connector authenticates to the API server and checks it: a client certificate from
 * the credentialRef, and an API server certificate that does not chain to the CA.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { api, dialChannel, dir, get, pem, useHttpStreamsHarness } from './http-streams-harness.ts';

useHttpStreamsHarness();

describe('Kubernetes data channel: credentials and TLS', () => {
  it('authenticates with a client certificate from the credentialRef, and adds no Authorization', async () => {
    const { edge, hello, done } = await dialChannel({ credentialRef: `file:${join(dir, 'client.pem')}` });
    expect(hello).toEqual({ type: 'channel-hello' });
    const id = edge!.open(get('/whoami?mtls=1'));
    const s = edge!.streams.get(id)!;
    await edge!.until(() => !!s.end, 'whoami');
    expect(JSON.parse(Buffer.concat(s.body).toString())).toEqual({ authorized: true, cn: 'postern-gateway' });
    expect(api.seen.get('/whoami?mtls=1')!['authorization']).toBeUndefined();
    edge!.ws.close(1000);
    await done;
  });

  it('refuses the dial with a clear reason when the API server certificate does not chain to the CA', async () => {
    const { hello, done } = await dialChannel({ ca: pem('other.pem') });
    expect(hello).toMatchObject({ type: 'channel-error', reason: 'tls-failed' });
    expect((hello as { message: string }).message).toMatch(
      /TLS to 127\.0\.0\.1:\d+ failed: .*(self.signed|unable to (get|verify))/,
    );
    await done;
  });
});
