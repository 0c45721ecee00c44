/**
 * A client message the session cannot accept. Client messages can be decided while the target's
 * answers are read (one that waited for them), so the session tells the two sides' faults apart
 * by this class, not by where the error surfaced.
 */
import { PosternError } from '../errors.ts';

export class ClientMessageError extends PosternError {
  constructor(message: string) {
    super('PROTOCOL_VIOLATION', message);
  }
}
