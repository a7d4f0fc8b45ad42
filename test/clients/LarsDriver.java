package lars.client;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Drives the Java client for test/clients/*.test.ts and bench/, with the same line protocol as
 * driver.py: one command per stdin line, one JSON line per answer. In package lars.client to reach
 * the codec. Usage: LarsDriver BASE_PORT TIMEOUT_MS CACHE_DIR ('-' for none).
 */
public final class LarsDriver {
  private LarsDriver() {}

  private static String q(String s) {
    return s == null ? "null" : "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  private static String hosts(List<Host> hosts) {
    List<String> out = new ArrayList<>();
    for (Host h : hosts) out.add(q(h.toString()));
    return "[" + String.join(",", out) + "]";
  }

  private static String decode(int msgid, byte[] body) throws Wire.WireException {
    if (msgid == Wire.ID_GET_HOST_RESPONSE) {
      Wire.GetHostResponse m = Wire.getHostResponse(body, 0, body.length);
      String host = m.host == null ? "null" : "{\"ip\":" + q(Wire.int32ToIp(m.host[0])) + ",\"port\":" + m.host[1] + "}";
      return "{\"seq\":" + Integer.toUnsignedLong(m.seq) + ",\"modid\":" + m.modid + ",\"cmdid\":" + m.cmdid + ",\"retcode\":" + m.retcode + ",\"host\":" + host + "}";
    }
    if (msgid == Wire.ID_API_GET_ROUTE_RESPONSE) {
      Wire.GetRouteResponse m = Wire.getRouteResponse(body, 0, body.length);
      List<Host> hs = new ArrayList<>();
      for (int[] h : m.hosts) hs.add(new Host(Wire.int32ToIp(h[0]), h[1]));
      return "{\"modid\":" + m.modid + ",\"cmdid\":" + m.cmdid + ",\"hosts\":" + hosts(hs) + "}";
    }
    int[] m = Wire.registerResponse(body, 0, body.length);
    return "{\"seq\":" + Integer.toUnsignedLong(m[0]) + ",\"retcode\":" + m[1] + "}";
  }

  private static int i(String s) {
    return (int) Long.parseLong(s); // uint32 values keep their bits
  }

  private static byte[] encode(String kind, String[] a) {
    switch (kind) {
      case "get_host":
        return Wire.getHostRequest(i(a[2]), i(a[3]), i(a[4]), a.length > 5 ? HexFormat.of().parseHex(a[5]) : new byte[0]);
      case "report":
        return Wire.reportRequest(i(a[2]), i(a[3]), Wire.ipToInt32(a[4]), i(a[5]), i(a[6]), i(a[7]));
      case "route":
        return Wire.apiGetRouteRequest(i(a[2]), i(a[3]));
      default:
        return Wire.registerRequest(i(a[2]), i(a[3]), i(a[4]), Wire.ipToInt32(a[5]), i(a[6]), i(a[7]), a[8].equals("-") ? "" : a[8], i(a[9]), a[10].equals("1"));
    }
  }

  /**
   * count threads share client, thread t asking calls times for module (m0 + t, 1), whose only node
   * is 10.0.8.(t+1):8000+t; counts the answers that are (not) that node.
   */
  private static String threads(LarsClient client, int m0, int count, int calls) throws InterruptedException {
    java.util.concurrent.atomic.AtomicInteger right = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger wrong = new java.util.concurrent.atomic.AtomicInteger();
    List<Thread> ts = new ArrayList<>();
    for (int t = 0; t < count; t++) {
      int me = t;
      ts.add(new Thread(() -> {
        for (int n = 0; n < calls; n++) {
          HostResult r = client.getHost(m0 + me, 1);
          boolean ok = r.retcode() == LarsClient.RET_SUCC && r.host().equals(new Host("10.0.8." + (me + 1), 8000 + me));
          (ok ? right : wrong).incrementAndGet();
        }
      }));
    }
    for (Thread t : ts) t.start();
    for (Thread t : ts) t.join();
    return "{\"right\":" + right.get() + ",\"wrong\":" + wrong.get() + "}";
  }

  public static void main(String[] args) throws Exception {
    LarsClient client = new LarsClient(new LarsClient.Options().port(Integer.parseInt(args[0])).timeoutMs(Integer.parseInt(args[1]))
        .cacheDir(args[2].equals("-") ? "" : args[2]).regInitAttempts(50).regInitDelayMs(20));
    List<Registration> regs = new ArrayList<>();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    System.out.println("{\"ready\":true}");
    System.out.flush();
    for (String line; (line = in.readLine()) != null; ) {
      String[] a = line.trim().split("\\s+");
      if (a[0].isEmpty()) continue;
      String out;
      try {
        switch (a[0]) {
          case "get_host": {
            HostResult r = a.length > 3 ? client.getHost(i(a[1]), i(a[2]), a[3]) : client.getHost(i(a[1]), i(a[2]));
            Host h = r.host();
            out = "{\"retcode\":" + r.retcode() + ",\"ip\":" + (h == null ? "null" : q(h.ip())) + ",\"port\":" + (h == null ? "null" : h.port())
                + ",\"from_cache\":" + r.fromCache() + "}";
            break;
          }
          case "report":
            client.report(i(a[1]), i(a[2]), a[3], i(a[4]), i(a[5]), a.length > 6 ? i(a[6]) : 0);
            out = "{\"ok\":true}";
            break;
          case "get_route": {
            RouteResult r = client.getRoute(i(a[1]), i(a[2]));
            out = "{\"retcode\":" + r.retcode() + ",\"hosts\":" + hosts(r.hosts()) + ",\"from_cache\":" + r.fromCache() + "}";
            break;
          }
          case "reg_init":
            out = "{\"retcode\":" + client.regInit(i(a[1]), i(a[2])) + "}";
            break;
          case "call":
            try {
              String node = client.call(i(a[1]), i(a[2]), h -> {
                if (a[3].equals("fail")) throw new IllegalStateException("the call failed");
                return h.toString();
              });
              out = "{\"ok\":true,\"node\":" + q(node) + "}";
            } catch (IllegalStateException e) {
              out = "{\"ok\":false,\"error\":\"fn\"}";
            }
            break;
          case "register":
            regs.add(client.register(i(a[1]), i(a[2]), a[3], i(a[4]), 0, "", i(a[5])));
            out = "{\"ok\":true}";
            break;
          case "renewals": {
            Registration r = regs.get(regs.size() - 1);
            out = "{\"renewals\":" + r.renewals() + ",\"failures\":" + r.renewalFailures() + "}";
            break;
          }
          case "deregister":
            out = "{\"retcode\":" + regs.remove(regs.size() - 1).deregister() + "}";
            break;
          case "stats": {
            LarsClient.Stats s = client.stats();
            out = "{\"sent\":" + s.sent + ",\"matched\":" + s.matched + ",\"stale\":" + s.stale + ",\"malformed\":" + s.malformed
                + ",\"unexpected\":" + s.unexpected + ",\"timeouts\":" + s.timeouts + ",\"from_cache\":" + s.fromCache + ",\"send_errors\":" + s.sendErrors + "}";
            break;
          }
          case "encode":
            out = "{\"hex\":" + q(HexFormat.of().formatHex(encode(a[1], a))) + "}";
            break;
          case "decode":
            try {
              out = decode(i(a[1]), a.length > 2 ? HexFormat.of().parseHex(a[2]) : new byte[0]);
            } catch (Wire.WireException e) {
              out = "{\"malformed\":true}";
            }
            break;
          case "bench": {
            int m = i(a[1]);
            int c = i(a[2]);
            long start = System.nanoTime();
            long end = start + (long) (Double.parseDouble(a[3]) * 1e9);
            long n = 0;
            while (System.nanoTime() < end) {
              HostResult r = client.getHost(m, c);
              if (r.retcode() == LarsClient.RET_SUCC) client.report(m, c, r.host().ip(), r.host().port(), LarsClient.RET_SUCC);
              n++;
            }
            out = "{\"ops\":" + n + ",\"seconds\":" + (System.nanoTime() - start) / 1e9 + "}";
            break;
          }
          case "threads":
            out = threads(client, i(a[1]), i(a[2]), i(a[3]));
            break;
          case "close":
            client.close();
            out = "{\"ok\":true}";
            break;
          default:
            out = "{\"error\":" + q("unknown command " + a[0]) + "}";
        }
      } catch (LarsException e) {
        out = "{\"error\":" + q(e.code()) + "}";
      }
      System.out.println(out);
      System.out.flush();
    }
  }
}
