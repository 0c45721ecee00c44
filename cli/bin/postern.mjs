#!/usr/bin/env node
// Runs the TypeScript CLI directly (tsx), so `npx postern` works in a clone without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../main.ts');
process.exitCode = await main(process.argv.slice(2));
