// The wire codec: framing, messages, IPv4 numbers, route size limits, and both implementations.
export * from './frame.js';
export * from './messages.js';
export * from './route-limits.js';
export * from './codec.js';
export * from './agent-ports.js';
export * from './module-key.js';
export * from './lease.js';
