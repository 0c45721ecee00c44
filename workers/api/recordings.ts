/**
 * A session's SSH recording (docs/ssh.md, "Recording"): the `recording_chunk` events shipped
 * with its audit trail, assembled per channel as asciicast v2 (core/ssh/recording-events.ts)
 * for `postern sessions replay`. One channel per answer (`?channel=`, default the first one
 * recorded): an asciicast file is one terminal.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { PosternError } from '../../core/errors.ts';
import { recordedChannels } from '../../core/ssh/recording-events.ts';
import { sessionEvents } from '../../edge/db/audit-repo.ts';
import { getSession } from '../../edge/db/sessions-repo.ts';
import { json, newApi, withDb } from './app.ts';
import { presentAuditEvent } from './present.ts';
import { ErrorBody, SessionIdParam } from './schemas.ts';

const Recording = z.object({
  asciicast: z.string(),
  channel: z.number().int(),
  /** Every recorded channel of the session. */
  channels: z.array(z.number().int()),
  /** The pieces' hash chain holds, up to the head the session recorded for the channel. */
  ok: z.boolean(),
  problems: z.array(z.string()),
  cut: z.string().optional(),
});

export const recordingsApi = newApi().openapi(
  createRoute({
    method: 'get',
    path: '/sessions/{id}/recording',
    summary: "A session's SSH recording as asciicast v2 (one channel)",
    request: {
      params: SessionIdParam,
      query: z.object({ channel: z.coerce.number().int().min(0).optional() }),
    },
    responses: {
      200: json(Recording, 'The recording of one channel'),
      404: json(ErrorBody, 'No such session, or nothing recorded'),
    },
  }),
  async (c) => {
    const { id } = c.req.valid('param');
    const { channel } = c.req.valid('query');
    const rows = await withDb(c, async (db) => {
      if (!(await getSession(db, id))) throw new PosternError('NOT_FOUND', 'no such session');
      return sessionEvents(db, id);
    });
    const channels = recordedChannels(
      id,
      rows.map((r) => presentAuditEvent(r)),
    );
    const pick = channel === undefined ? channels[0] : channels.find((r) => r.channel === channel);
    if (!pick) throw new PosternError('NOT_FOUND', 'the session has no such recording');
    return c.json(
      {
        asciicast: pick.asciicast,
        channel: pick.channel,
        channels: channels.map((r) => r.channel),
        ok: pick.ok,
        problems: pick.problems,
        ...(pick.cut ? { cut: pick.cut } : {}),
      },
      200,
    );
  },
);
