/**
 * The protocol modules an edge serves, by the connection's `protocol`. The SessionDO picks one
 * per session and knows no protocol by name (style.md #16); the edge's list is built where the
 * modules get their runtimes (durable-objects/session/protocols.ts).
 */
import { PosternError } from '../errors.ts';
import type { ProtocolConnection, ProtocolModule } from './protocol.ts';

export class ProtocolRegistry<C extends ProtocolConnection = ProtocolConnection> {
  readonly #modules = new Map<string, ProtocolModule<C>>();

  constructor(modules: Array<ProtocolModule<C>>) {
    for (const m of modules) {
      // Checked when the registry is built, not on the first session (style.md #5).
      if (this.#modules.has(m.protocol)) {
        throw new PosternError('CONFIG_INVALID', `two protocol modules for "${m.protocol}"`);
      }
      this.#modules.set(m.protocol, m);
    }
  }

  /** The module for `protocol`; throws CONFIG_INVALID when this edge has none. */
  get(protocol: string): ProtocolModule<C> {
    const m = this.#modules.get(protocol);
    if (!m) throw new PosternError('CONFIG_INVALID', `this edge does not serve protocol "${protocol}"`);
    return m;
  }

  get protocols(): string[] {
    return [...this.#modules.keys()];
  }
}
