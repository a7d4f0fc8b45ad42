package lars.client;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;

/**
 * Reads the agent's route cache on disk (docs/agent.md, "The format"): the fallback when the agent
 * does not answer. Read at each call, never kept: once the agent answers again it is the only source.
 */
final class RouteCache {
  static final String DEFAULT_DIR = "var/agent-cache";
  static final long DEFAULT_MAX_AGE_MS = 7L * 86_400_000L;
  private static final int HEADER_SIZE = 28;

  private RouteCache() {}

  static String fileName(int modid, int cmdid) {
    return "route-" + Integer.toUnsignedString(modid) + "-" + Integer.toUnsignedString(cmdid) + ".lrc";
  }

  /** The module's cached nodes; empty when there is no usable file (missing, corrupt, foreign, too old). */
  static List<Host> read(Path dir, int modid, int cmdid, long maxAgeMs) {
    byte[] data;
    try {
      Path file = dir.resolve(fileName(modid, cmdid));
      if (Files.size(file) > HEADER_SIZE + Wire.MAX_BODY_SIZE + 4) return List.of();
      data = Files.readAllBytes(file);
    } catch (IOException e) {
      return List.of();
    }
    if (data.length < HEADER_SIZE + 4) return List.of();
    ByteBuffer b = ByteBuffer.wrap(data); // big-endian
    if (b.getInt(0) != 0x4C525443 /* "LRTC" */ || b.getShort(4) != 1) return List.of();
    long n = Integer.toUnsignedLong(b.getInt(24));
    if (n > Wire.MAX_BODY_SIZE || data.length != HEADER_SIZE + n + 4) return List.of();
    int end = HEADER_SIZE + (int) n;
    CRC32 crc = new CRC32();
    crc.update(data, 0, end);
    if (crc.getValue() != Integer.toUnsignedLong(b.getInt(end))) return List.of();
    if (System.currentTimeMillis() - b.getLong(8) > maxAgeMs) return List.of();
    if (b.getInt(16) != modid || b.getInt(20) != cmdid) return List.of();
    Wire.GetRouteResponse route;
    try {
      route = Wire.getRouteResponse(data, HEADER_SIZE, (int) n);
    } catch (Wire.WireException e) {
      return List.of();
    }
    if (route.modid != modid || route.cmdid != cmdid) return List.of();
    List<Host> hosts = new ArrayList<>();
    for (int[] h : route.hosts) {
      if (h[1] < 0 || h[1] > 65535) return List.of();
      hosts.add(new Host(Wire.int32ToIp(h[0]), h[1]));
    }
    return hosts;
  }
}
