/**
 * Build-time stand-in for "node-rsa", which @microsoft/dev-tunnels-ssh names in its Node RSA
 * class (algorithms/node/nodeRsa.js) for Node versions without RSA key objects. In workerd the
 * library uses its Web Crypto classes, so this is never called; it exists so the bundler can
 * resolve the name (wrangler.toml [alias]).
 */
export default function nodeRsaUnused(): never {
  throw new Error('node-rsa is not available in workerd; the SSH library uses Web Crypto here');
}
