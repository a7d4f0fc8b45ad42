package lars.client;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A node registered through the agent: re-sends its RegisterRequest every ttl/3 on a daemon thread
 * (the agent renews the lease only while they keep coming) until deregister(). Any thread.
 */
public final class Registration implements AutoCloseable {
  private final LarsClient client;
  private final int modid;
  private final int cmdid;
  private final String ip;
  private final int ip32;
  private final int port;
  private final int weight;
  private final String zone;
  private final int ttlMs;
  private final CountDownLatch stop = new CountDownLatch(1);
  private Thread renewer;
  private Integer deregistered;
  private volatile long renewals;
  private volatile long renewalFailures;

  Registration(LarsClient client, int modid, int cmdid, String ip, int ip32, int port, int weight, String zone, int ttlMs) {
    this.client = client;
    this.modid = modid;
    this.cmdid = cmdid;
    this.ip = ip;
    this.ip32 = ip32;
    this.port = port;
    this.weight = weight;
    this.zone = zone;
    this.ttlMs = ttlMs;
  }

  public String ip() { return ip; }
  public int port() { return port; }
  public int ttlMs() { return ttlMs; }
  /** Renewals the agent confirmed. */
  public long renewals() { return renewals; }
  /** Renewals the agent did not confirm (it may be restarting: renewing goes on until the lease expires). */
  public long renewalFailures() { return renewalFailures; }

  /**
   * Stops renewing and removes the node at once: RET_SUCC when the agent confirmed, RET_SYSTEM_ERROR
   * when it did not answer (the lease then expires after ttlMs). Idempotent.
   */
  public synchronized int deregister() {
    if (deregistered != null) return deregistered;
    stop.countDown();
    if (renewer != null && renewer != Thread.currentThread()) {
      try {
        renewer.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    Integer retcode = sendWithRetries(true);
    deregistered = retcode == null ? LarsClient.RET_SYSTEM_ERROR : retcode;
    client.forget(this);
    return deregistered;
  }

  @Override
  public void close() {
    deregister();
  }

  synchronized void start() {
    renewer = new Thread(this::renew, "lars-register-" + modid + "-" + cmdid);
    renewer.setDaemon(true);
    renewer.start();
  }

  private void renew() {
    try {
      while (!stop.await(ttlMs / 3, TimeUnit.MILLISECONDS)) {
        Integer retcode = send(false);
        if (retcode != null && retcode == LarsClient.RET_SUCC) renewals++;
        else renewalFailures++;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The agent's retcode, null without a reply to REGISTER_ATTEMPTS sends. */
  Integer sendWithRetries(boolean deregister) {
    for (int i = 0; i < LarsClient.REGISTER_ATTEMPTS; i++) {
      Integer retcode = send(deregister);
      if (retcode != null) return retcode;
    }
    return null;
  }

  /** The agent's retcode, null without a reply in time. A deregistration carries ttl 0. */
  Integer send(boolean deregister) {
    int seq = client.nextSeq();
    byte[] frame = Wire.registerRequest(seq, modid, cmdid, ip32, port, weight, zone, deregister ? 0 : ttlMs, deregister);
    return client.exchange(frame, modid, cmdid, (msgid, buf, len) -> {
      if (msgid != Wire.ID_REGISTER_RESPONSE) return null;
      int[] m = Wire.registerResponse(buf, Wire.HEADER_SIZE, len - Wire.HEADER_SIZE);
      return m[0] == seq ? (Object) m[1] : LarsClient.STALE;
    });
  }
}
