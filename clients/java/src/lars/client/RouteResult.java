package lars.client;

import java.util.List;

/** What getRoute answers: RET_SUCC with at least one host, RET_NOEXIST for an empty route, RET_SYSTEM_ERROR without a reply. */
public final class RouteResult {
  private final int retcode;
  private final List<Host> hosts;
  private final boolean fromCache;

  RouteResult(int retcode, List<Host> hosts, boolean fromCache) {
    this.retcode = retcode;
    this.hosts = List.copyOf(hosts);
    this.fromCache = fromCache;
  }

  public int retcode() {
    return retcode;
  }

  public List<Host> hosts() {
    return hosts;
  }

  public boolean fromCache() {
    return fromCache;
  }
}
