/**
 * The entry of the bundled `postern ssh-proxy` (dist/ssh-proxy.mjs, built by proxy-bundle.ts):
 * `node dist/ssh-proxy.mjs [options] <connection>` is `postern ssh-proxy [options] <connection>`
 * without the command table or tsx, so a ProxyCommand loads the proxy and nothing else.
 */
import { run } from '../commands/ssh-proxy.ts';
import { reportError } from '../errors.ts';

// Exit when the session is done, as cli/bin/postern.mjs does: the proxy has ended stdout first.
process.exit(await run(process.argv.slice(2)).catch((e: unknown) => reportError('ssh-proxy', e, false)));
