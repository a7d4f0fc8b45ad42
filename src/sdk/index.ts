// The Lars SDK: what business code uses to find a node of a remote service and report the call.
// Imported as `lars/sdk` (and re-exported from `lars`). See docs/sdk.md.
export {
  LarsClient,
  DEFAULT_AGENT_HOST,
  DEFAULT_AGENT_PORT,
  DEFAULT_REG_INIT_ATTEMPTS,
  DEFAULT_REG_INIT_DELAY_MS,
  DEFAULT_TIMEOUT_MS,
  MAX_HASH_KEY_BYTES,
} from './lars-client.js';
export { RetCode } from './types.js';
export { agentPortIndex } from '../wire/agent-ports.js';
export type { RegisterOptions, Registration } from './types.js';
export type { GetHostOptions, GetHostResult, GetRouteResult, HostAddress, HostPicked, LarsClientOptions, LarsClientStats, LocalFallbacks, NoHost, ReportOptions, SdkMode } from './types.js';
export { DEFAULT_VIEW_DIR } from './local-picker.js';
export { REPORT_BATCH_MAX, REPORT_FLUSH_MS } from './report-batcher.js';
export { LarsError, isLarsError, type LarsErrorCode } from '../errors.js';
