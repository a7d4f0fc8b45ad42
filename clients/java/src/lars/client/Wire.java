package lars.client;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The few Lars wire messages a client sends and receives (proto/lars.proto, PROTOCOL.md). A frame is
 * an 8-byte header (int32 msgid, int32 body length, little-endian) and a protobuf body, written
 * canonically (fields in number order, default scalars left out): the same bytes as the TypeScript
 * and C++ codecs. Decoding skips unknown fields and throws WireException on malformed input.
 * Stateless; any thread.
 */
final class Wire {
  static final int HEADER_SIZE = 8;
  static final int MAX_BODY_SIZE = 65535 - HEADER_SIZE;
  static final int ID_GET_HOST_REQUEST = 4;
  static final int ID_GET_HOST_RESPONSE = 5;
  static final int ID_REPORT_REQUEST = 6;
  static final int ID_API_GET_ROUTE_REQUEST = 7;
  static final int ID_API_GET_ROUTE_RESPONSE = 8;
  static final int ID_REGISTER_REQUEST = 10;
  static final int ID_REGISTER_RESPONSE = 11;

  private Wire() {}

  static final class WireException extends Exception {
    private static final long serialVersionUID = 1L;
    WireException(String message) {
      super(message);
    }
  }

  // --- encoding ---

  /** A body under construction. */
  private static final class Body {
    final ByteArrayOutputStream out = new ByteArrayOutputStream(32);

    void varint(long v) {
      while ((v & ~0x7FL) != 0) {
        out.write((int) ((v & 0x7F) | 0x80));
        v >>>= 7;
      }
      out.write((int) v);
    }

    /** int32 fields are sign-extended to 64 bits (10 bytes when negative), as proto3 wants. */
    Body int32(int number, int v) {
      if (v != 0) {
        varint((long) number << 3);
        varint(v);
      }
      return this;
    }

    Body uint32(int number, int v) {
      if (v != 0) {
        varint((long) number << 3);
        varint(Integer.toUnsignedLong(v));
      }
      return this;
    }

    Body bytes(int number, byte[] v, boolean always) {
      if (v.length > 0 || always) {
        varint(((long) number << 3) | 2);
        varint(v.length);
        out.write(v, 0, v.length);
      }
      return this;
    }

    byte[] toByteArray() {
      return out.toByteArray();
    }
  }

  static byte[] frame(int msgid, byte[] body) {
    ByteBuffer b = ByteBuffer.allocate(HEADER_SIZE + body.length).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(msgid).putInt(body.length).put(body);
    return b.array();
  }

  private static byte[] hostInfo(int ip, int port, int weight, String zone) {
    return new Body().int32(1, ip).int32(2, port).uint32(3, weight).bytes(4, zone.getBytes(StandardCharsets.UTF_8), false).toByteArray();
  }

  static byte[] getHostRequest(int seq, int modid, int cmdid, byte[] hashKey) {
    return frame(ID_GET_HOST_REQUEST, new Body().uint32(1, seq).int32(2, modid).int32(3, cmdid).bytes(4, hashKey, false).toByteArray());
  }

  static byte[] reportRequest(int modid, int cmdid, int ip, int port, int retcode, int usetimeUs) {
    return frame(ID_REPORT_REQUEST, new Body().int32(1, modid).int32(2, cmdid).bytes(3, hostInfo(ip, port, 0, ""), true)
        .int32(4, retcode).uint32(5, usetimeUs).toByteArray());
  }

  static byte[] apiGetRouteRequest(int modid, int cmdid) {
    return frame(ID_API_GET_ROUTE_REQUEST, new Body().int32(1, modid).int32(2, cmdid).toByteArray());
  }

  static byte[] registerRequest(int seq, int modid, int cmdid, int ip, int port, int weight, String zone, int ttlMs, boolean deregister) {
    return frame(ID_REGISTER_REQUEST, new Body().uint32(1, seq).int32(2, modid).int32(3, cmdid)
        .bytes(4, hostInfo(ip, port, weight, zone), true).uint32(5, ttlMs).int32(6, deregister ? 1 : 0).toByteArray());
  }

  // --- decoding ---

  /** One field: a varint value, or the bytes of a length-delimited field. */
  private static final class Reader {
    final byte[] buf;
    int pos;
    final int end;
    int number;
    int wireType;
    long varint;
    int from;
    int len;

    Reader(byte[] buf, int off, int len) {
      this.buf = buf;
      this.pos = off;
      this.end = off + len;
    }

    long readVarint() throws WireException {
      long result = 0;
      for (int shift = 0; shift < 70; shift += 7) {
        if (pos >= end) throw new WireException("truncated varint");
        int b = buf[pos++] & 0xFF;
        result |= (long) (b & 0x7F) << shift;
        if (b < 0x80) return result;
      }
      throw new WireException("varint longer than 10 bytes");
    }

    /** Advances to the next varint or length-delimited field; false at the end. Skips fixed32/64. */
    boolean next() throws WireException {
      while (pos < end) {
        long key = readVarint();
        number = (int) (key >>> 3);
        wireType = (int) (key & 7);
        if (number == 0) throw new WireException("field number 0");
        switch (wireType) {
          case 0:
            varint = readVarint();
            return true;
          case 2: {
            long n = readVarint();
            if (n < 0 || n > end - pos) throw new WireException("length past the end");
            from = pos;
            len = (int) n;
            pos += len;
            return true;
          }
          case 1:
          case 5:
            pos += wireType == 1 ? 8 : 4;
            if (pos > end) throw new WireException("truncated fixed field");
            break;
          default:
            throw new WireException("unsupported wire type " + wireType);
        }
      }
      return false;
    }

    int int32(int wantType) throws WireException {
      if (wireType != wantType) throw new WireException("field " + number + " of the wrong wire type");
      return (int) varint;
    }
  }

  /** ip and port of a HostInfo; weight and zone are the agent's business. */
  static int[] hostInfo(byte[] buf, int off, int len) throws WireException {
    int[] h = new int[2];
    Reader r = new Reader(buf, off, len);
    while (r.next()) {
      if (r.number == 1) h[0] = r.int32(0);
      else if (r.number == 2) h[1] = r.int32(0);
      else if (r.number == 4) {
        r.int32(2);
        try { // proto3 strings must be valid UTF-8
          StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(buf, r.from, r.len));
        } catch (CharacterCodingException e) {
          throw new WireException("zone is not UTF-8");
        }
      }
    }
    return h;
  }

  static final class GetHostResponse {
    int seq;
    int modid;
    int cmdid;
    int retcode;
    /** ip, port; null when absent. */
    int[] host;
  }

  static GetHostResponse getHostResponse(byte[] buf, int off, int len) throws WireException {
    GetHostResponse m = new GetHostResponse();
    Reader r = new Reader(buf, off, len);
    while (r.next()) {
      switch (r.number) {
        case 1: m.seq = r.int32(0); break;
        case 2: m.modid = r.int32(0); break;
        case 3: m.cmdid = r.int32(0); break;
        case 4: m.retcode = r.int32(0); break;
        case 5: r.int32(2); m.host = hostInfo(buf, r.from, r.len); break;
        default: break;
      }
    }
    return m;
  }

  static final class GetRouteResponse {
    int modid;
    int cmdid;
    final List<int[]> hosts = new ArrayList<>();
  }

  static GetRouteResponse getRouteResponse(byte[] buf, int off, int len) throws WireException {
    GetRouteResponse m = new GetRouteResponse();
    Reader r = new Reader(buf, off, len);
    while (r.next()) {
      switch (r.number) {
        case 1: m.modid = r.int32(0); break;
        case 2: m.cmdid = r.int32(0); break;
        case 3: r.int32(2); m.hosts.add(hostInfo(buf, r.from, r.len)); break;
        case 4: r.int32(2); break; // the module's policy: the agent applies it, a client ignores it
        default: break;
      }
    }
    return m;
  }

  /** seq, retcode. */
  static int[] registerResponse(byte[] buf, int off, int len) throws WireException {
    int[] m = new int[2];
    Reader r = new Reader(buf, off, len);
    while (r.next()) {
      if (r.number == 1) m[0] = r.int32(0);
      else if (r.number == 2) m[1] = r.int32(0);
    }
    return m;
  }

  /** The msgid of a datagram that is exactly one frame (its body starts at HEADER_SIZE). */
  static int datagramMsgid(byte[] buf, int len) throws WireException {
    if (len < HEADER_SIZE) throw new WireException("shorter than a frame header");
    ByteBuffer b = ByteBuffer.wrap(buf, 0, len).order(ByteOrder.LITTLE_ENDIAN);
    int msgid = b.getInt(0);
    int bodyLen = b.getInt(4);
    if (bodyLen < 0 || bodyLen > MAX_BODY_SIZE || len - HEADER_SIZE != bodyLen) throw new WireException("body length does not match the datagram");
    return msgid;
  }

  /** Dotted quad to the wire's int32 (a<<24|b<<16|c<<8|d). */
  static int ipToInt32(String ip) {
    String[] p = ip.split("\\.", -1);
    if (p.length != 4) throw new LarsException("ERR_INVALID_INPUT", "lars client: not an IPv4 address: " + ip);
    int v = 0;
    for (String s : p) {
      if (s.isEmpty() || s.length() > 3 || !s.chars().allMatch(Character::isDigit) || Integer.parseInt(s) > 255) {
        throw new LarsException("ERR_INVALID_INPUT", "lars client: not an IPv4 address: " + ip);
      }
      v = (v << 8) | Integer.parseInt(s);
    }
    return v;
  }

  static String int32ToIp(int v) {
    return ((v >>> 24) & 255) + "." + ((v >>> 16) & 255) + "." + ((v >>> 8) & 255) + "." + (v & 255);
  }
}
