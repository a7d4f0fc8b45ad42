"""The few Lars wire messages a client sends and receives (proto/lars.proto, PROTOCOL.md).

A frame is an 8-byte header (int32 msgid, int32 body length, both little-endian) and a protobuf
body. Bodies are written canonically (fields in number order, default scalars left out), the same
bytes as the TypeScript and C++ codecs; decoding skips unknown fields and raises WireError on any
malformed input.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

HEADER_SIZE = 8
MAX_BODY_SIZE = 65535 - HEADER_SIZE

ID_GET_ROUTE_RESPONSE = 2
ID_GET_HOST_REQUEST = 4
ID_GET_HOST_RESPONSE = 5
ID_REPORT_REQUEST = 6
ID_API_GET_ROUTE_REQUEST = 7
ID_API_GET_ROUTE_RESPONSE = 8
ID_REGISTER_REQUEST = 10
ID_REGISTER_RESPONSE = 11

_U64 = (1 << 64) - 1


class WireError(ValueError):
    """A frame or body that is not well-formed: the datagram is dropped."""


# --- encoding -----------------------------------------------------------------------------------

def _varint(v: int) -> bytes:
    v &= _U64  # a negative int32 is sign-extended to 10 bytes, as proto3 wants
    out = bytearray()
    while v > 0x7F:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def _int_field(number: int, v: int) -> bytes:
    return _varint(number << 3) + _varint(v) if v != 0 else b""


def _bytes_field(number: int, v: bytes, always: bool = False) -> bytes:
    if not v and not always:
        return b""
    return _varint((number << 3) | 2) + _varint(len(v)) + v


def _host_info(ip: int, port: int, weight: int = 0, zone: str = "") -> bytes:
    return _int_field(1, ip) + _int_field(2, port) + _int_field(3, weight) + _bytes_field(4, zone.encode("utf-8"))


def frame(msgid: int, body: bytes) -> bytes:
    return struct.pack("<ii", msgid, len(body)) + body


def encode_get_host_request(seq: int, modid: int, cmdid: int, hash_key: bytes = b"") -> bytes:
    return frame(ID_GET_HOST_REQUEST, _int_field(1, seq) + _int_field(2, modid) + _int_field(3, cmdid) + _bytes_field(4, hash_key))


def encode_report_request(modid: int, cmdid: int, ip: int, port: int, retcode: int, usetime_us: int = 0) -> bytes:
    body = _int_field(1, modid) + _int_field(2, cmdid) + _bytes_field(3, _host_info(ip, port), always=True)
    return frame(ID_REPORT_REQUEST, body + _int_field(4, retcode) + _int_field(5, usetime_us))


def encode_api_get_route_request(modid: int, cmdid: int) -> bytes:
    return frame(ID_API_GET_ROUTE_REQUEST, _int_field(1, modid) + _int_field(2, cmdid))


def encode_register_request(seq: int, modid: int, cmdid: int, ip: int, port: int, weight: int, zone: str,
                            ttl_ms: int, deregister: bool) -> bytes:
    body = _int_field(1, seq) + _int_field(2, modid) + _int_field(3, cmdid)
    body += _bytes_field(4, _host_info(ip, port, weight, zone), always=True)
    return frame(ID_REGISTER_REQUEST, body + _int_field(5, ttl_ms) + _int_field(6, 1 if deregister else 0))


# --- decoding -----------------------------------------------------------------------------------

def _read_varint(buf: bytes, pos: int) -> Tuple[int, int]:
    result = 0
    for shift in range(0, 70, 7):
        if pos >= len(buf):
            raise WireError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result & _U64, pos
    raise WireError("varint longer than 10 bytes")


def _fields(buf: bytes):
    """Yields (number, wire type, value): an int for varints, bytes for length-delimited fields;
    fixed32/fixed64 fields are skipped (no message here has one)."""
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        number, wt = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0")
        if wt == 0:
            v, pos = _read_varint(buf, pos)
            yield number, wt, v
        elif wt == 2:
            n, pos = _read_varint(buf, pos)
            if n > len(buf) - pos:
                raise WireError("length past the end")
            yield number, wt, buf[pos:pos + n]
            pos += n
        elif wt in (1, 5):
            pos += 8 if wt == 1 else 4
            if pos > len(buf):
                raise WireError("truncated fixed field")
        else:
            raise WireError(f"unsupported wire type {wt}")


def _int32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


def _expect(wt: int, want: int) -> None:
    if wt != want:
        raise WireError("field of the wrong wire type")


@dataclass
class HostInfo:
    ip: int = 0
    port: int = 0


def _decode_host(buf: bytes) -> HostInfo:
    h = HostInfo()
    for number, wt, v in _fields(buf):
        if number == 1:
            _expect(wt, 0)
            h.ip = _int32(v)
        elif number == 2:
            _expect(wt, 0)
            h.port = _int32(v)
        elif number == 4:
            _expect(wt, 2)
            v.decode("utf-8")  # zone: proto3 strings must be valid UTF-8
            # weight (3) and zone are the agent's business: a client needs only the address
    return h


@dataclass
class GetHostResponse:
    seq: int = 0
    modid: int = 0
    cmdid: int = 0
    retcode: int = 0
    host: Optional[HostInfo] = None


@dataclass
class GetRouteResponse:
    modid: int = 0
    cmdid: int = 0
    hosts: List[HostInfo] = field(default_factory=list)


@dataclass
class RegisterResponse:
    seq: int = 0
    retcode: int = 0


def decode_get_host_response(body: bytes) -> GetHostResponse:
    r = GetHostResponse()
    for number, wt, v in _fields(body):
        if number == 5:
            _expect(wt, 2)
            r.host = _decode_host(v)
        elif 1 <= number <= 4:
            _expect(wt, 0)
            if number == 1:
                r.seq = v & 0xFFFFFFFF
            elif number == 2:
                r.modid = _int32(v)
            elif number == 3:
                r.cmdid = _int32(v)
            else:
                r.retcode = _int32(v)
    return r


def decode_get_route_response(body: bytes) -> GetRouteResponse:
    r = GetRouteResponse()
    for number, wt, v in _fields(body):
        if number == 1:
            _expect(wt, 0)
            r.modid = _int32(v)
        elif number == 2:
            _expect(wt, 0)
            r.cmdid = _int32(v)
        elif number == 3:
            _expect(wt, 2)
            r.hosts.append(_decode_host(v))
        elif number == 4:
            _expect(wt, 2)  # the module's policy: the agent applies it, a client ignores it
    return r


def decode_register_response(body: bytes) -> RegisterResponse:
    r = RegisterResponse()
    for number, wt, v in _fields(body):
        if number in (1, 2):
            _expect(wt, 0)
            if number == 1:
                r.seq = v & 0xFFFFFFFF
            else:
                r.retcode = _int32(v)
    return r


def decode_datagram(datagram: bytes) -> Tuple[int, bytes]:
    """(msgid, body) of a datagram that is exactly one frame; WireError otherwise."""
    if len(datagram) < HEADER_SIZE:
        raise WireError("shorter than a frame header")
    msgid, length = struct.unpack_from("<ii", datagram)
    if length < 0 or length > MAX_BODY_SIZE or len(datagram) - HEADER_SIZE != length:
        raise WireError("body length does not match the datagram")
    return msgid, datagram[HEADER_SIZE:]


def ip_to_int32(ip: str) -> int:
    """Dotted quad to the wire's int32 (a<<24|b<<16|c<<8|d, signed)."""
    parts = ip.split(".")
    if len(parts) != 4 or not all(p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts):
        raise ValueError(f"not an IPv4 address: {ip!r}")
    a, b, c, d = (int(p) for p in parts)
    return _int32((a << 24) | (b << 16) | (c << 8) | d)


def int32_to_ip(v: int) -> str:
    v &= 0xFFFFFFFF
    return f"{v >> 24}.{(v >> 16) & 255}.{(v >> 8) & 255}.{v & 255}"
