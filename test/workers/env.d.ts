/// <reference types="@cloudflare/vitest-pool-workers/types" />
import type { Env as PosternEnv } from '../../workers/env.ts';

declare global {
  namespace Cloudflare {
    interface Env extends PosternEnv {}
  }
}
