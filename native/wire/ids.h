// Message ids and return codes of the Lars wire protocol (docs/spec/PROTOCOL.md, proto/lars.proto).
// The numbers are fixed for compatibility with existing Lars peers.
#pragma once

#include <cstdint>

namespace lars::wire {

// The msgid of a frame header: which message its body holds.
enum MsgId : int32_t {
  kGetRouteRequest = 1,      // agent -> DNS, GetRouteRequest
  kGetRouteResponse = 2,     // DNS -> agent (reply or push), GetRouteResponse
  kReportStatusRequest = 3,  // agent -> Report service, ReportStatusRequest
  kGetHostRequest = 4,       // API -> agent, GetHostRequest
  kGetHostResponse = 5,      // agent -> API, GetHostResponse
  kReportRequest = 6,        // API -> agent, ReportRequest
  kApiGetRouteRequest = 7,   // API -> agent, GetRouteRequest
  kApiGetRouteResponse = 8,  // agent -> API, GetRouteResponse
  // Beyond the reference (docs/spec/EXTENSIONS.md §1).
  kReportBatchRequest = 9,   // API -> agent, ReportBatchRequest
  kRegisterRequest = 10,     // API -> agent, RegisterRequest
  kRegisterResponse = 11,    // agent -> API, RegisterResponse
  kLeaseRequest = 12,        // agent -> DNS, LeaseRequest
};

inline bool is_known_msgid(int32_t id) { return id >= kGetRouteRequest && id <= kLeaseRequest; }

// GetHostResponse.retcode and ReportRequest.retcode.
enum RetCode : int32_t {
  kRetSucc = 0,
  kRetOverload = 1,
  kRetSystemError = 2,
  kRetNoExist = 3,
};

}  // namespace lars::wire
