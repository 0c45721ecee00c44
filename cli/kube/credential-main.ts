/**
 * The entry of the bundled `postern kube-credential` (dist/kube-credential.mjs, built like the
 * ssh-proxy bundle by cli/ssh/proxy-bundle.ts): kubectl runs the plugin once per kubectl process
 * (client-go keeps the credential in memory only), so each `kubectl get` would otherwise first
 * start tsx.
 */
import { run } from '../commands/kube-credential.ts';
import { reportError } from '../errors.ts';

process.exit(
  await run(process.argv.slice(2)).catch((e: unknown) => reportError('kube-credential', e, false)),
);
