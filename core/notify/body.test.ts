import { describe, expect, it } from 'vitest';
import type { ApprovalNotification, ApprovalView } from '../approvals/types.ts';
import { slackText, webhookBody } from './body.ts';

const approval: ApprovalView = {
  id: 'apr_123',
  kind: 'statement',
  status: 'pending',
  connection: 'orders-db',
  sessionId: 'ses_1',
  requester: { issuer: 'https://idp.example', subject: 'alice' },
  statement: 'DROP TABLE\n  orders_<old> -- `x`',
  fingerprint: 'fp',
  action: 'sql:ddl',
  resource: 'orders_old',
  reason: 'policy dba-approval',
  policies: [],
  approverGroup: 'dba',
  minApprovals: 2,
  votes: [],
  durationSeconds: null,
  createdAt: '2026-05-01T10:00:00.000Z',
  expiresAt: '2026-05-01T10:15:00.000Z',
  decidedAt: null,
  scope: null,
  grantId: null,
};
const notification: ApprovalNotification = {
  type: 'approval.requested',
  approval,
  approveCommand: 'postern approvals approve apr_123 --edge https://edge.example',
  approveUrl: 'https://edge.example/api/v1/approvals/apr_123/approve',
};

describe('webhook bodies', () => {
  it('sends the notification itself in the JSON format', () => {
    expect(JSON.parse(webhookBody('json', notification))).toEqual(notification);
  });

  it('sends one Slack paragraph with who, what, where, approvers, expiry and the approve command', () => {
    const body = JSON.parse(webhookBody('slack', notification)) as { text: string };
    expect(Object.keys(body)).toEqual(['text']);
    expect(body.text).toBe(slackText(notification));
    expect(body.text).not.toContain('\n');
    for (const part of [
      '*alice* (https://idp.example)',
      '`DROP TABLE orders_&lt;old&gt; -- \u02cbx\u02cb`',
      'sql:ddl on orders_old',
      'connection *orders-db*',
      'Approver group: *dba*, 2 approvals needed',
      'Expires 2026-05-01T10:15:00.000Z',
      '`postern approvals approve apr_123 --edge https://edge.example`',
      'POST https://edge.example/api/v1/approvals/apr_123/approve',
    ])
      expect(body.text).toContain(part);
  });

  it('describes an access request with its action and duration and cuts long statements', () => {
    const access = slackText({
      ...notification,
      approval: {
        ...approval,
        kind: 'access',
        statement: null,
        action: 'connect',
        durationSeconds: 1800,
        minApprovals: 1,
      },
    });
    expect(access).toContain('asks for `connect` access for 30m on connection *orders-db*');
    expect(access).not.toContain('approvals needed');
    const long = slackText({ ...notification, approval: { ...approval, statement: 'x'.repeat(2000) } });
    expect(long).toContain(`\`${'x'.repeat(500)}…\``);
  });
});
