// The package's public face (`lars`): the SDK, the wire vocabulary and the error type.
// Daemons are started through the `lars` executable; see README.md.
export * from './sdk/index.js';
export { MsgId, ipToInt32, int32ToIp, ipToUint32, uint32ToIp } from './wire/messages.js';
export type { HostInfo, GetHostRequest, GetHostResponse, GetRouteRequest, GetRouteResponse, ReportRequest, ReportStatusRequest } from './wire/messages.js';
export type * from './config/types.js';
