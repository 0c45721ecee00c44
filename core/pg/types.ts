/** Values of the Postgres wire protocol shared by its codec and the session that uses it. */

/** Fields of an ErrorResponse/NoticeResponse the gateway writes (protocol §55.8). */
export interface ErrorFields {
  severity: 'ERROR' | 'FATAL' | 'PANIC' | 'WARNING' | 'NOTICE' | 'INFO' | 'LOG';
  code: string;
  message: string;
  detail?: string;
  hint?: string;
}

/** A Postgres cancel key: BackendKeyData / CancelRequest process id and secret. */
export interface CancelKey {
  processId: number;
  secretKey: number;
}
