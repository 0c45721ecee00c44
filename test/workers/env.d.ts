/// <reference types="@cloudflare/vitest-pool-workers/types" />
import type { Env as PosternEnv } from '../../edge/env.ts';

declare global {
  namespace Cloudflare {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging needs an interface
    interface Env extends PosternEnv {}
  }
}
