package lars.client;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The Lars API for Java: getHost / report / getRoute / call / register against the agent on this
 * host, over UDP, datagram for datagram what the TypeScript SDK (src/sdk/lars-client.ts) sends.
 *
 * <p>Thread-safe: one socket per client and one lock that a request holds from its send to its
 * reply, so requests from several threads take turns (a reply nobody waits for any more is stale
 * and dropped). For parallel requests use one client per thread; report() never waits. Requests
 * never throw for a missing or silent agent and never hang: each answers after timeoutMs at the
 * latest, from the agent's route cache on disk when it has the module, else RET_SYSTEM_ERROR.
 */
public final class LarsClient implements AutoCloseable {
  public static final int RET_SUCC = 0;
  public static final int RET_OVERLOAD = 1;
  public static final int RET_SYSTEM_ERROR = 2;
  public static final int RET_NOEXIST = 3;
  public static final int DEFAULT_REGISTER_TTL_MS = 10_000;
  /** The agent accepts leases of 1 s to 10 min (src/wire/lease.ts). */
  public static final int MIN_REGISTER_TTL_MS = 1_000;
  public static final int MAX_REGISTER_TTL_MS = 600_000;
  /** A registration is sent this many times, timeoutMs apart, before register() gives up (as the TypeScript SDK does). */
  static final int REGISTER_ATTEMPTS = 3;
  private static final java.util.regex.Pattern ZONE = java.util.regex.Pattern.compile("[A-Za-z0-9._-]{0,64}");

  /** Client settings; every one has the TypeScript SDK's default. */
  public static final class Options {
    String host = "127.0.0.1";
    int port = 8888;
    int timeoutMs = 100;
    int regInitAttempts = 10;
    int regInitDelayMs = 50;
    String cacheDir = RouteCache.DEFAULT_DIR;
    long cacheMaxAgeMs = RouteCache.DEFAULT_MAX_AGE_MS;

    /** The agent's address (default 127.0.0.1). */
    public Options host(String v) { host = v; return this; }
    /** The first of the agent's three UDP ports (default 8888). */
    public Options port(int v) { port = v; return this; }
    /** How long a request waits for its reply (default 100 ms). */
    public Options timeoutMs(int v) { timeoutMs = v; return this; }
    public Options regInitAttempts(int v) { regInitAttempts = v; return this; }
    public Options regInitDelayMs(int v) { regInitDelayMs = v; return this; }
    /** The agent's [agent] cache_dir, read when the agent does not answer; "" turns that off. */
    public Options cacheDir(String v) { cacheDir = v; return this; }
    public Options cacheMaxAgeMs(long v) { cacheMaxAgeMs = v; return this; }
  }

  /** Counters, for tests and diagnostics (a snapshot). */
  public static final class Stats {
    public long sent, matched, stale, malformed, unexpected, timeouts, fromCache, sendErrors;
  }

  /** The remote call call() wraps. */
  @FunctionalInterface
  public interface Call<T> {
    T apply(Host node) throws Exception;
  }

  private final String host;
  private final int port;
  private final int timeoutMs;
  private final int regInitAttempts;
  private final int regInitDelayMs;
  private final Path cacheDir;
  private final long cacheMaxAgeMs;
  private final InetAddress agentAddress;
  private final DatagramSocket socket;
  private final ReentrantLock exchangeLock = new ReentrantLock();
  private final Object state = new Object(); // guards stats, seq, cacheCursor, registrations
  private final Stats stats = new Stats();
  private final Map<Long, Integer> cacheCursor = new HashMap<>();
  private final List<Registration> registrations = new ArrayList<>();
  private final CountDownLatch closedLatch = new CountDownLatch(1);
  private final byte[] receiveBuffer = new byte[65536];
  private int seq;
  private volatile boolean closed;

  public LarsClient() {
    this(new Options());
  }

  public LarsClient(Options o) {
    if (o.host == null || o.host.isEmpty()) throw invalid("host must be a non-empty string");
    host = o.host;
    port = checkInt("port", o.port, 1, 65533);
    timeoutMs = checkInt("timeoutMs", o.timeoutMs, 1, Integer.MAX_VALUE);
    regInitAttempts = checkInt("regInitAttempts", o.regInitAttempts, 1, 1_000_000);
    regInitDelayMs = checkInt("regInitDelayMs", o.regInitDelayMs, 0, Integer.MAX_VALUE);
    cacheDir = o.cacheDir == null || o.cacheDir.isEmpty() ? null : Paths.get(o.cacheDir).toAbsolutePath();
    cacheMaxAgeMs = o.cacheMaxAgeMs;
    try {
      // Resolved once: a name lookup per datagram would cost more than the request.
      agentAddress = InetAddress.getByName(host);
      socket = new DatagramSocket();
    } catch (UnknownHostException | SocketException e) {
      throw new LarsException("ERR_INVALID_INPUT", "lars client: cannot use agent host " + host + ": " + e.getMessage());
    }
  }

  /** The agent port module (modid, cmdid) is sent to: port + (modid + cmdid) % 3 over the wire's int32s. */
  public int portFor(int modid, int cmdid) {
    return port + agentPortIndex(modid, cmdid);
  }

  public static int agentPortIndex(int modid, int cmdid) {
    return (int) Math.floorMod((long) modid + cmdid, 3L);
  }

  public String host() {
    return host;
  }

  public int timeoutMs() {
    return timeoutMs;
  }

  public boolean isClosed() {
    return closed;
  }

  public Stats stats() {
    synchronized (state) {
      Stats s = new Stats();
      s.sent = stats.sent;
      s.matched = stats.matched;
      s.stale = stats.stale;
      s.malformed = stats.malformed;
      s.unexpected = stats.unexpected;
      s.timeouts = stats.timeouts;
      s.fromCache = stats.fromCache;
      s.sendErrors = stats.sendErrors;
      return s;
    }
  }

  /**
   * Asks for the route until the agent knows it, so that the first getHost finds it: RET_SUCC once
   * it has a node, RET_NOEXIST if still none after regInitAttempts requests, RET_SYSTEM_ERROR if the
   * agent never answered.
   */
  public int regInit(int modid, int cmdid) {
    boolean answered = false;
    for (int attempt = 1; ; attempt++) {
      RouteResult r = getRoute(modid, cmdid);
      if (r.retcode() == RET_SUCC) return RET_SUCC;
      answered |= r.retcode() == RET_NOEXIST;
      if (attempt >= regInitAttempts) break;
      try {
        if (closedLatch.await(regInitDelayMs, TimeUnit.MILLISECONDS)) break;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    return answered ? RET_NOEXIST : RET_SYSTEM_ERROR;
  }

  public HostResult getHost(int modid, int cmdid) {
    return getHost(modid, cmdid, (byte[]) null);
  }

  /** key: the request's affinity key for a ring_hash module (sent as UTF-8). */
  public HostResult getHost(int modid, int cmdid, String key) {
    return getHost(modid, cmdid, key == null ? null : key.getBytes(StandardCharsets.UTF_8));
  }

  /** A node of (modid, cmdid) as the agent picks it. */
  public HostResult getHost(int modid, int cmdid, byte[] key) {
    if (closed) return SYSTEM_ERROR;
    int s = nextSeq();
    HostResult r = exchange(Wire.getHostRequest(s, modid, cmdid, key == null ? new byte[0] : key), modid, cmdid, (msgid, buf, len) -> {
      if (msgid != Wire.ID_GET_HOST_RESPONSE) return null;
      Wire.GetHostResponse m = Wire.getHostResponse(buf, Wire.HEADER_SIZE, len - Wire.HEADER_SIZE);
      // Another seq: the reply to a request that timed out (or a confused agent).
      if (m.seq != s || m.modid != modid || m.cmdid != cmdid) return STALE;
      return hostResult(m);
    });
    return r != null ? r : hostFromCache(modid, cmdid);
  }

  public void report(int modid, int cmdid, String ip, int port, int retcode) {
    report(modid, cmdid, ip, port, retcode, 0);
  }

  /**
   * Tells the agent how a call to ip:port went: RET_SUCC, or anything else (use RET_OVERLOAD) for a
   * failure; usetimeUs how long it took (0: not measured; an unsigned 32-bit value). Fire and forget.
   */
  public void report(int modid, int cmdid, String ip, int port, int retcode, int usetimeUs) {
    byte[] frame = Wire.reportRequest(modid, cmdid, Wire.ipToInt32(ip), checkInt("port", port, 0, 65535), retcode, usetimeUs);
    if (!closed) send(frame, modid, cmdid);
  }

  /** Every node of (modid, cmdid) as the agent knows it. */
  public RouteResult getRoute(int modid, int cmdid) {
    if (closed) return NO_ROUTE;
    RouteResult r = exchange(Wire.apiGetRouteRequest(modid, cmdid), modid, cmdid, (msgid, buf, len) -> {
      if (msgid != Wire.ID_API_GET_ROUTE_RESPONSE) return null;
      Wire.GetRouteResponse m = Wire.getRouteResponse(buf, Wire.HEADER_SIZE, len - Wire.HEADER_SIZE);
      // Route replies carry no seq: any reply for the module answers the request.
      if (m.modid != modid || m.cmdid != cmdid) return STALE;
      List<Host> hosts = new ArrayList<>();
      for (int[] h : m.hosts) {
        if (h[1] < 0 || h[1] > 65535) return NO_ROUTE;
        hosts.add(new Host(Wire.int32ToIp(h[0]), h[1]));
      }
      return new RouteResult(hosts.isEmpty() ? RET_NOEXIST : RET_SUCC, hosts, false);
    });
    return r != null ? r : routeFromCache(modid, cmdid);
  }

  /**
   * Picks a node, runs fn on it, reports RET_SUCC with the time it took when fn returns and
   * RET_OVERLOAD when it throws (and rethrows). Throws LarsException ERR_NO_HOST or ERR_TIMEOUT
   * without calling fn when no node can be picked.
   */
  public <T> T call(int modid, int cmdid, Call<T> fn) throws Exception {
    HostResult picked = getHost(modid, cmdid);
    if (picked.retcode() != RET_SUCC) throw noHostError(modid, cmdid, picked.retcode());
    Host node = picked.host();
    long start = System.nanoTime();
    T result;
    try {
      result = fn.apply(node);
    } catch (Exception | Error e) {
      report(modid, cmdid, node.ip(), node.port(), RET_OVERLOAD, elapsedUs(start));
      throw e;
    }
    report(modid, cmdid, node.ip(), node.port(), RET_SUCC, elapsedUs(start));
    return result;
  }

  public Registration register(int modid, int cmdid, String ip, int port) {
    return register(modid, cmdid, ip, port, 0, "", DEFAULT_REGISTER_TTL_MS);
  }

  /**
   * Registers node ip:port for (modid, cmdid) through the agent with a lease of ttlMs (1 000..600 000),
   * renewed every ttl/3 by the returned handle until deregister() or close(). weight 0 means the
   * default (100); zone "" none. Returns once the agent accepted it; throws LarsException
   * ERR_TIMEOUT when no agent answers, ERR_REFUSED when it refuses (its log says why).
   */
  public Registration register(int modid, int cmdid, String ip, int port, int weight, String zone, int ttlMs) {
    // The agent takes registrations only for ids it reads as non-negative int32s.
    if (modid < 0 || cmdid < 0) throw invalid("register: modid and cmdid must be 0..2147483647, got " + modid + " " + cmdid);
    String z = zone == null ? "" : zone;
    if (!ZONE.matcher(z).matches()) throw invalid("register: the zone must be at most 64 characters of A-Z a-z 0-9 . _ -, got \"" + z + "\"");
    int ip32 = Wire.ipToInt32(ip);
    if (ip32 == 0) throw invalid("register: the ip must be a non-zero IPv4 address");
    Registration reg = new Registration(this, modid, cmdid, ip, ip32, checkInt("port", port, 1, 65535),
        checkInt("weight", weight, 0, 10000), z, checkInt("ttlMs", ttlMs, MIN_REGISTER_TTL_MS, MAX_REGISTER_TTL_MS));
    if (closed) throw new LarsException("ERR_CLOSED", "lars client: register() on a closed client; create a new LarsClient");
    String what = "registration of " + ip + ":" + port + " for modid " + modid + " cmdid " + cmdid;
    Integer retcode = reg.sendWithRetries(false);
    if (retcode == null) {
      throw new LarsException("ERR_TIMEOUT", "lars client: no agent answered the " + what + " at " + host + ":" + portFor(modid, cmdid)
          + " (" + REGISTER_ATTEMPTS + " x " + timeoutMs + " ms); is \"lars agent\" running?");
    }
    if (retcode != RET_SUCC) {
      throw new LarsException("ERR_REFUSED", "lars client: the agent refused the " + what + " (retcode " + retcode + "); its log says why");
    }
    synchronized (state) {
      registrations.add(reg);
    }
    reg.start();
    return reg;
  }

  /** Deregisters every registration still live, then closes the socket. Idempotent. */
  @Override
  public void close() {
    List<Registration> regs;
    synchronized (state) {
      regs = new ArrayList<>(registrations);
    }
    for (Registration r : regs) r.deregister();
    exchangeLock.lock();
    try {
      if (closed) return;
      closed = true;
      closedLatch.countDown();
      socket.close();
    } finally {
      exchangeLock.unlock();
    }
  }

  // --- internals ---

  void forget(Registration r) {
    synchronized (state) {
      registrations.remove(r);
    }
  }

  int nextSeq() {
    synchronized (state) {
      return seq++;
    }
  }

  private void count(java.util.function.Consumer<Stats> f) {
    synchronized (state) {
      f.accept(stats);
    }
  }

  private boolean send(byte[] frame, int modid, int cmdid) {
    count(s -> s.sent++);
    try {
      socket.send(new DatagramPacket(frame, frame.length, agentAddress, portFor(modid, cmdid)));
      return true;
    } catch (IOException e) {
      count(s -> s.sendErrors++);
      return false;
    }
  }

  /** Recognises the reply a request waits for: null when the msgid is another kind, STALE when not ours. */
  @FunctionalInterface
  interface Accept {
    Object accept(int msgid, byte[] datagram, int length) throws Wire.WireException;
  }

  /** accept() result: a well-formed reply that is not the one waited for. */
  static final Object STALE = new Object();
  private static final HostResult SYSTEM_ERROR = new HostResult(RET_SYSTEM_ERROR, null, false);
  private static final RouteResult NO_ROUTE = new RouteResult(RET_SYSTEM_ERROR, List.of(), false);

  /** Sends frame and waits for the reply accept recognises; every other datagram is counted and dropped. null after timeoutMs. */
  @SuppressWarnings("unchecked")
  <T> T exchange(byte[] frame, int modid, int cmdid, Accept accept) {
    exchangeLock.lock();
    try {
      if (closed || !send(frame, modid, cmdid)) return null;
      long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
      DatagramPacket packet = new DatagramPacket(receiveBuffer, receiveBuffer.length);
      for (;;) {
        long remainingMs = (deadline - System.nanoTime() + 999_999) / 1_000_000;
        if (remainingMs <= 0) {
          count(s -> s.timeouts++);
          return null;
        }
        try {
          socket.setSoTimeout((int) Math.min(remainingMs, Integer.MAX_VALUE));
          packet.setLength(receiveBuffer.length);
          socket.receive(packet);
        } catch (SocketTimeoutException e) {
          continue; // the loop counts the timeout
        } catch (IOException e) {
          if (closed) return null;
          continue; // e.g. an ICMP error for an earlier datagram
        }
        if (packet.getPort() < port || packet.getPort() > port + 2) {
          count(s -> s.unexpected++);
          continue;
        }
        Object result;
        try {
          result = accept.accept(Wire.datagramMsgid(receiveBuffer, packet.getLength()), receiveBuffer, packet.getLength());
        } catch (Wire.WireException e) {
          count(s -> s.malformed++);
          continue;
        }
        if (result == null) {
          count(s -> s.unexpected++);
        } else if (result == STALE) {
          count(s -> s.stale++);
        } else {
          boolean nonsense = result == SYSTEM_ERROR || result == NO_ROUTE;
          count(s -> {
            if (nonsense) s.malformed++;
            else s.matched++;
          });
          return (T) result;
        }
      }
    } finally {
      exchangeLock.unlock();
    }
  }

  /** A reply that makes no sense (RET_SUCC without a usable host, an unknown retcode) is RET_SYSTEM_ERROR. */
  private static HostResult hostResult(Wire.GetHostResponse m) {
    switch (m.retcode) {
      case RET_SUCC:
        if (m.host == null || m.host[1] < 0 || m.host[1] > 65535) return SYSTEM_ERROR;
        return new HostResult(RET_SUCC, new Host(Wire.int32ToIp(m.host[0]), m.host[1]), false);
      case RET_OVERLOAD:
      case RET_NOEXIST:
      case RET_SYSTEM_ERROR:
        return new HostResult(m.retcode, null, false);
      default:
        return SYSTEM_ERROR;
    }
  }

  private List<Host> cachedHosts(int modid, int cmdid) {
    return cacheDir == null ? List.of() : RouteCache.read(cacheDir, modid, cmdid, cacheMaxAgeMs);
  }

  private HostResult hostFromCache(int modid, int cmdid) {
    List<Host> hosts = cachedHosts(modid, cmdid);
    if (hosts.isEmpty()) return SYSTEM_ERROR;
    long key = ((long) modid << 32) | (cmdid & 0xFFFFFFFFL);
    int i;
    synchronized (state) {
      i = cacheCursor.getOrDefault(key, 0) % hosts.size();
      cacheCursor.put(key, i + 1);
      stats.fromCache++;
    }
    return new HostResult(RET_SUCC, hosts.get(i), true);
  }

  private RouteResult routeFromCache(int modid, int cmdid) {
    List<Host> hosts = cachedHosts(modid, cmdid);
    if (hosts.isEmpty()) return NO_ROUTE;
    count(s -> s.fromCache++);
    return new RouteResult(RET_SUCC, hosts, true);
  }

  private LarsException noHostError(int modid, int cmdid, int retcode) {
    String module = "modid " + modid + " cmdid " + cmdid;
    switch (retcode) {
      case RET_NOEXIST:
        return new LarsException("ERR_NO_HOST", "lars client: no node for " + module + ": the agent has no route for it yet (RET_NOEXIST); call regInit("
            + modid + ", " + cmdid + ") at start-up, and check the module has nodes (lars route ls " + modid + " " + cmdid + ")");
      case RET_OVERLOAD:
        return new LarsException("ERR_NO_HOST", "lars client: no node for " + module + ": every node is overloaded (RET_OVERLOAD); back off or degrade, the agent probes them again");
      default:
        if (closed) return new LarsException("ERR_NO_HOST", "lars client: no node for " + module + ": the client is closed (RET_SYSTEM_ERROR); create a new LarsClient");
        return new LarsException("ERR_TIMEOUT", "lars client: no node for " + module + ": the agent at " + host + ":" + portFor(modid, cmdid)
            + " did not answer within " + timeoutMs + " ms (RET_SYSTEM_ERROR); is \"lars agent\" running?");
    }
  }

  private static int elapsedUs(long startNs) {
    long us = (System.nanoTime() - startNs) / 1000;
    return (int) Math.min(us, 0xFFFFFFFFL); // an unsigned 32-bit value on the wire
  }

  private static LarsException invalid(String message) {
    return new LarsException("ERR_INVALID_INPUT", "lars client: " + message);
  }

  private static int checkInt(String name, int v, int min, int max) {
    if (v < min || v > max) throw invalid(name + " must be an integer " + min + ".." + max + ", got " + v);
    return v;
  }
}
