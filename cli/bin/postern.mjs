#!/usr/bin/env node
// Runs the TypeScript CLI directly (tsx), so `npx postern` works in a clone without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../main.ts');
// Exit when the command is done: a command that serves (connect, connector, dev) returns only
// after it has stopped, and a lingering handle (a closing socket, a keep-alive) must not keep a
// finished command alive. Writes to pipes and files are synchronous here, so nothing is cut.
process.exit(await main(process.argv.slice(2)));
