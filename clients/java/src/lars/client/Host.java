package lars.client;

import java.util.Objects;

/** One node of a route: a dotted-quad IPv4 and a port. */
public final class Host {
  private final String ip;
  private final int port;

  public Host(String ip, int port) {
    this.ip = ip;
    this.port = port;
  }

  public String ip() {
    return ip;
  }

  public int port() {
    return port;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Host && ((Host) o).ip.equals(ip) && ((Host) o).port == port;
  }

  @Override
  public int hashCode() {
    return Objects.hash(ip, port);
  }

  @Override
  public String toString() {
    return ip + ":" + port;
  }
}
