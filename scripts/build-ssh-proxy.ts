// `npm ci` (the `prepare` script) builds the bundled ssh-proxy that ssh's ProxyCommand runs and the
// bundled kubectl exec plugin (cli/ssh/proxy-bundle.ts). A failure fails the install: ssh and
// kubectl through Postern would not start.
import {
  buildProxyBundle,
  KUBE_CREDENTIAL_BUNDLE,
  KUBE_CREDENTIAL_ENTRY,
  PROXY_BUNDLE,
} from '../cli/ssh/proxy-bundle.ts';

try {
  await buildProxyBundle();
  console.error(`postern: built ${PROXY_BUNDLE}`);
  await buildProxyBundle(KUBE_CREDENTIAL_BUNDLE, KUBE_CREDENTIAL_ENTRY);
  console.error(`postern: built ${KUBE_CREDENTIAL_BUNDLE}`);
} catch (e) {
  console.error(`postern: ${(e as Error).message}`);
  process.exit(1);
}
