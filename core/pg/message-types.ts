/**
 * Message type bytes (protocol §55.7 "Message Formats"), named as the protocol names the
 * messages. Frontend (client → server) and backend (server → client) are two tables: the same
 * letter means different messages ('E' is Execute one way and ErrorResponse the other, 'D'
 * Describe and DataRow, 'C' Close and CommandComplete, 'H' Flush and CopyOutResponse, 'S' Sync
 * and ParameterStatus). Startup-phase packets have no type byte (§55.2.1).
 */

/** Messages a client sends after its StartupMessage. */
export const Frontend = {
  Bind: 0x42, // 'B'
  Close: 0x43, // 'C'
  CopyData: 0x64, // 'd'
  CopyDone: 0x63, // 'c'
  CopyFail: 0x66, // 'f'
  Describe: 0x44, // 'D'
  Execute: 0x45, // 'E'
  Flush: 0x48, // 'H'
  FunctionCall: 0x46, // 'F'
  Parse: 0x50, // 'P'
  /** PasswordMessage, SASLInitialResponse, SASLResponse and GSSResponse share 'p'. */
  Password: 0x70, // 'p'
  Query: 0x51, // 'Q'
  Sync: 0x53, // 'S'
  Terminate: 0x58, // 'X'
} as const;

/** Messages a server sends. */
export const Backend = {
  Authentication: 0x52, // 'R'
  BackendKeyData: 0x4b, // 'K'
  BindComplete: 0x32, // '2'
  CloseComplete: 0x33, // '3'
  CommandComplete: 0x43, // 'C'
  CopyBothResponse: 0x57, // 'W'
  CopyData: 0x64, // 'd'
  CopyDone: 0x63, // 'c'
  CopyInResponse: 0x47, // 'G'
  CopyOutResponse: 0x48, // 'H'
  DataRow: 0x44, // 'D'
  EmptyQueryResponse: 0x49, // 'I'
  ErrorResponse: 0x45, // 'E'
  FunctionCallResponse: 0x56, // 'V'
  NegotiateProtocolVersion: 0x76, // 'v'
  NoData: 0x6e, // 'n'
  NoticeResponse: 0x4e, // 'N'
  NotificationResponse: 0x41, // 'A'
  ParameterDescription: 0x74, // 't'
  ParameterStatus: 0x53, // 'S'
  ParseComplete: 0x31, // '1'
  PortalSuspended: 0x73, // 's'
  ReadyForQuery: 0x5a, // 'Z'
  RowDescription: 0x54, // 'T'
} as const;

/** The answer to SSLRequest/GSSENCRequest that declines encryption (§55.2.10): 'N'. */
export const NO_ENCRYPTION = 0x4e;

/** ReadyForQuery's transaction status byte (§55.7): idle, in a transaction, in a failed one. */
export const TxStatus = { Idle: 0x49, InTransaction: 0x54, Failed: 0x45 } as const; // 'I' 'T' 'E'

/** Describe/Close's first byte: a prepared statement or a portal (§55.7). */
export const Target = { Statement: 0x53, Portal: 0x50 } as const; // 'S' 'P'

/** A type byte as people read it in errors: 'Q'. */
export function typeName(type: number): string {
  return type >= 0x20 && type < 0x7f ? `'${String.fromCharCode(type)}'` : `0x${type.toString(16)}`;
}
