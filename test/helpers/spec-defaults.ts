// docs/spec/BALANCER.md's parameter defaults as the typed config (timeouts in ms): what the
// config loader must produce and what the balancer suites start from.
import type { LoadBalanceConfig } from '../../src/config/types.js';

export const SPEC_LOADBALANCE_DEFAULTS: LoadBalanceConfig = Object.freeze({
  probeNum: 10,
  initSuccCnt: 180,
  initErrCnt: 5,
  errRate: 0.1,
  succRate: 0.5,
  continErrLimit: 15,
  continSuccLimit: 15,
  windowErrRate: 0.7,
  idleTimeoutMs: 15_000,
  overloadTimeoutMs: 15_000,
  updateTimeoutMs: 15_000,
});
