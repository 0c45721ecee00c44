import { describe, expect, it } from 'vitest';
import { useApiHarness, withConnection } from './api-harness.ts';

const h = useApiHarness({ each: withConnection() });

const GOOD = 'permit(principal in Postern::Group::"dba", action == Postern::Action::"sql:select", resource);';

describe('policy documents', () => {
  it('stores a valid global document, replaces it, lists and deletes it', async () => {
    expect((await h.call('PUT', '/policies/base', { text: GOOD })).status).toBe(201);
    const replaced = await h.call('PUT', '/policies/base', { text: `${GOOD}\n${GOOD}` });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ name: 'base', scope: 'global' });
    expect((await h.call('GET', '/policies')).body.policies).toHaveLength(1);
    expect((await h.call('DELETE', '/policies/base')).status).toBe(204);
    expect((await h.call('GET', '/policies/base')).status).toBe(404);
  });

  it("refuses a document that does not validate, with Cedar's message, line and column", async () => {
    const res = await h.call('PUT', '/policies/bad', {
      text: `${GOOD}\nforbid(principal, action == Postern::Action::"sql:delete", resource) unless { context.hasWhre };`,
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_policy');
    expect(res.body.error.field).toBe('text');
    expect(res.body.error.problems[0]).toMatchObject({
      line: 2,
      message: expect.stringContaining('hasWhre'),
    });
    expect(res.body.error.message).toMatch(/^line 2, column \d+: /);
    const syntax = await h.call('PUT', '/policies/bad', { text: 'permit(principal action, resource);' });
    expect(syntax.body.error.problems[0]).toMatchObject({ line: 1, column: 18 });
    expect((await h.cp.sql('SELECT * FROM policies')).length).toBe(0);
  });

  it('keeps per-connection documents with their connection and removes them with it', async () => {
    expect((await h.call('PUT', '/connections/orders-db/policies/rules', { text: GOOD })).status).toBe(201);
    expect((await h.call('PUT', '/connections/nope/policies/rules', { text: GOOD })).status).toBe(404);
    expect((await h.call('GET', '/connections/orders-db/policies')).body.policies[0]).toMatchObject({
      name: 'rules',
      scope: 'orders-db',
    });
    expect((await h.call('DELETE', '/connections/orders-db')).status).toBe(204);
    expect((await h.cp.sql('SELECT * FROM policies')).length).toBe(0);
  });

  it('publishes the schema policies are checked against', async () => {
    const res = await h.call('GET', '/policy-schema');
    expect(res.body.schema).toContain('namespace Postern');
    expect(res.body.schema).toContain('"sql:select"');
  });
});
