/**
 * What a webhook receives: the ApprovalNotification as JSON, or a Slack incoming-webhook body
 * (`{ text }`, https://api.slack.com/messaging/webhooks) with one readable paragraph.
 */
import type { ApprovalNotification, ApprovalView } from '../approvals/types.ts';

export type WebhookFormat = 'json' | 'slack';

/** A statement longer than this is cut in the Slack text; the JSON body always has all of it. */
const MAX_STATEMENT_CHARS = 500;

/** Slack mrkdwn control characters: `&`, `<` and `>` must be escaped in message text. */
function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Inline code in Slack cannot contain a backtick, and a message is one paragraph: whitespace
 * runs become one space and backticks become U+02CB (display only; the JSON body is exact).
 */
function code(text: string, max = MAX_STATEMENT_CHARS): string {
  let t = text.replace(/\s+/g, ' ').trim().replace(/`/g, '\u02cb');
  if (t.length > max) t = `${t.slice(0, max)}…`;
  return `\`${escapeSlack(t)}\``;
}

function duration(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

function what(a: ApprovalView): string {
  if (a.kind === 'statement') {
    const stmt = a.statement ? code(a.statement) : 'a statement';
    return `wants to run ${stmt} (${escapeSlack(a.action)} on ${escapeSlack(a.resource)})`;
  }
  const span = a.durationSeconds ? ` for ${duration(a.durationSeconds)}` : '';
  return `asks for \`${escapeSlack(a.action)}\` access${span}`;
}

/** The Slack message: who, what, where, who may approve, until when, and how. */
export function slackText(n: ApprovalNotification): string {
  const a = n.approval;
  const who = `*${escapeSlack(a.requester.subject)}* (${escapeSlack(a.requester.issuer)})`;
  const quorum = a.minApprovals > 1 ? `, ${a.minApprovals} approvals needed` : '';
  return (
    `Approval requested: ${who} ${what(a)} on connection *${escapeSlack(a.connection)}*. ` +
    `Reason: ${escapeSlack(a.reason.replace(/\s+/g, ' ').trim()) || '(none)'}. ` +
    `Approver group: *${escapeSlack(a.approverGroup)}*${quorum}. Expires ${escapeSlack(a.expiresAt)}. ` +
    `Approve with ${code(n.approveCommand, 2048)} or POST ${escapeSlack(n.approveUrl)} with an approver's token.`
  );
}

/** The request body of a delivery, serialized once: it is what the signature covers. */
export function webhookBody(format: WebhookFormat, notification: ApprovalNotification): string {
  switch (format) {
    case 'json':
      return JSON.stringify(notification);
    case 'slack':
      return JSON.stringify({ text: slackText(notification) });
    default: {
      const unreachable: never = format;
      return unreachable;
    }
  }
}
