/**
 * Stand-in for the `node-rsa` package in the edge's bundle. @microsoft/dev-tunnels-ssh loads it
 * only on its Node crypto path (algorithms/node/nodeRsa.js); in workerd `self` and
 * `crypto.subtle` exist, so the library takes its Web Crypto classes (algorithms/sshAlgorithms.js,
 * `useWebCrypto`) and never calls this. wrangler's bundler still resolves the require, hence the
 * alias in wrangler.toml.
 */
export default function NodeRsa(): never {
  throw new Error('node-rsa is not available in the edge: the SSH library uses Web Crypto here');
}
