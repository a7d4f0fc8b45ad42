// udp-echo: the machine's ceiling for the agent benchmark. Listens on the agent's three UDP
// ports and does the least an agent could: decode each frame, answer GetHostRequest with a
// fixed node (seq echoed), decode and drop ReportRequest, answer API_GetRouteRequest with a
// fixed ten-node route. Same reactor (UdpServer, recvmmsg batches) as the native agent, one
// loop thread per port unless --threads 1 puts all three on one loop.
//
//   udp-echo --port BASE [--threads 1|3]
//
// Prints {"event":"ready",...} once bound; stops on SIGINT/SIGTERM.
#include <signal.h>

#include <memory>

#include "bench_common.h"
#include "reactor/EventLoop.h"
#include "reactor/EventLoopThread.h"
#include "reactor/InetAddress.h"
#include "reactor/UdpServer.h"
#include "wire/messages.h"

using namespace lars;

namespace {

void on_frame(reactor::UdpServer* server, int32_t msgid, const char* body, size_t len, const reactor::InetAddress& peer) {
  thread_local std::vector<uint8_t> out;
  const auto* p = reinterpret_cast<const uint8_t*>(body);
  out.clear();
  if (msgid == wire::kGetHostRequest) {
    wire::GetHostRequest req;
    if (!wire::decode(p, len, req)) return;
    wire::GetHostResponse resp;
    resp.seq = req.seq;
    resp.modid = req.modid;
    resp.cmdid = req.cmdid;
    resp.retcode = wire::kRetSucc;
    resp.has_host = true;
    resp.host.ip = int32_t(0x0A000001);  // 10.0.0.1
    resp.host.port = 9000;
    wire::encode(resp, out);
    server->sendFrameTo(wire::kGetHostResponse, out.data(), out.size(), peer);
  } else if (msgid == wire::kReportRequest) {
    wire::ReportRequest req;
    wire::decode(p, len, req);
  } else if (msgid == wire::kApiGetRouteRequest) {
    wire::GetRouteRequest req;
    if (!wire::decode(p, len, req)) return;
    wire::GetRouteResponse resp;
    resp.modid = req.modid;
    resp.cmdid = req.cmdid;
    for (int i = 0; i < 10; ++i) resp.host.push_back(wire::HostInfo{int32_t(0x0A000001 + i), 9000});
    wire::encode(resp, out);
    server->sendFrameTo(wire::kApiGetRouteResponse, out.data(), out.size(), peer);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const bench::Args args(argc, argv);
  const int base = int(args.num("port", 8888));
  const int threads = args.num("threads", 3) == 1 ? 1 : 3;

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);  // inherited by the loop threads

  std::vector<std::unique_ptr<reactor::EventLoopThread>> loops;
  std::vector<std::unique_ptr<reactor::UdpServer>> servers;
  for (int i = 0; i < 3; ++i) {
    if (i < threads) loops.push_back(std::make_unique<reactor::EventLoopThread>(nullptr, "echo-" + std::to_string(i)));
  }
  std::vector<reactor::EventLoop*> loopPtrs;
  for (auto& l : loops) loopPtrs.push_back(l->startLoop());
  for (int i = 0; i < 3; ++i) {
    reactor::EventLoop* loop = loopPtrs[size_t(i) % loopPtrs.size()];
    auto server = std::make_unique<reactor::UdpServer>(loop, reactor::InetAddress(uint16_t(base + i), true),
                                                       "echo" + std::to_string(i));
    server->socket().setReceiveBufferSize(4 << 20);
    reactor::UdpServer* raw = server.get();
    server->setFrameCallback([raw](int32_t msgid, const char* body, size_t len, const reactor::InetAddress& peer) {
      on_frame(raw, msgid, body, len, peer);
    });
    server->start();
    servers.push_back(std::move(server));
  }
  bench::emit(bench::Json().add("event", "ready").add("port", base).add("threads", threads).str());

  int sig = 0;
  sigwait(&stop_signals, &sig);
  for (size_t i = 0; i < servers.size(); ++i) {
    servers[i]->getLoop()->runInLoopAndWait([&servers, i] { servers[i].reset(); });
  }
  loops.clear();
  return 0;
}
