// `npm ci` (the `prepare` script) builds the bundled ssh-proxy that ssh's ProxyCommand runs, the
// bundled kubectl exec plugin (cli/ssh/proxy-bundle.ts) and the web console's assets
// (cli/dev/console-bundle.ts). A failure fails the install: ssh and kubectl through Postern would
// not start, and wrangler would find no assets directory.
import {
  buildProxyBundle,
  KUBE_CREDENTIAL_BUNDLE,
  KUBE_CREDENTIAL_ENTRY,
  PROXY_BUNDLE,
} from '../cli/ssh/proxy-bundle.ts';
import { buildConsole } from '../cli/dev/console-bundle.ts';

try {
  await buildProxyBundle();
  console.error(`postern: built ${PROXY_BUNDLE}`);
  await buildProxyBundle(KUBE_CREDENTIAL_BUNDLE, KUBE_CREDENTIAL_ENTRY);
  console.error(`postern: built ${KUBE_CREDENTIAL_BUNDLE}`);
  console.error(`postern: built ${buildConsole()}`);
} catch (e) {
  console.error(`postern: ${(e as Error).message}`);
  process.exit(1);
}
