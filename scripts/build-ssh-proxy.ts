// `npm ci` (the `prepare` script) builds the bundled ssh-proxy that ssh's ProxyCommand runs
// (cli/ssh/proxy-bundle.ts). A failure fails the install: ssh through Postern would not start.
import { buildProxyBundle, PROXY_BUNDLE } from '../cli/ssh/proxy-bundle.ts';

try {
  await buildProxyBundle();
  console.error(`postern: built ${PROXY_BUNDLE}`);
} catch (e) {
  console.error(`postern: ${(e as Error).message}`);
  process.exit(1);
}
