package lars.client;

/**
 * What getHost answers: RET_SUCC with a host; RET_OVERLOAD, RET_NOEXIST or RET_SYSTEM_ERROR without.
 * fromCache: the agent did not answer in time, the node comes from its disk cache (round robin).
 */
public final class HostResult {
  private final int retcode;
  private final Host host;
  private final boolean fromCache;

  HostResult(int retcode, Host host, boolean fromCache) {
    this.retcode = retcode;
    this.host = host;
    this.fromCache = fromCache;
  }

  public int retcode() {
    return retcode;
  }

  /** null unless retcode is RET_SUCC. */
  public Host host() {
    return host;
  }

  public boolean fromCache() {
    return fromCache;
  }
}
