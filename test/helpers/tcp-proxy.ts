// The tests use the fault suite's proxy (bench/lib/tcp-proxy.ts): one proxy for both.
export { TcpProxy } from '../../bench/lib/tcp-proxy.js';
