"""Reads the agent's route cache on disk (docs/agent.md, "The format"): the fallback when the agent
does not answer. Read at each call, never kept: once the agent answers again it is the only source."""
from __future__ import annotations

import os
import struct
import time
import zlib
from typing import List, Optional, Tuple

from ._wire import MAX_BODY_SIZE, WireError, decode_get_route_response, int32_to_ip

DEFAULT_CACHE_DIR = "var/agent-cache"
DEFAULT_CACHE_MAX_AGE_MS = 7 * 86_400_000

_MAGIC = b"LRTC"
_VERSION = 1
_HEADER = struct.Struct(">4sHHQIII")  # magic, version, reserved, written at (ms), modid, cmdid, body length


def cache_file_name(modid: int, cmdid: int) -> str:
    return f"route-{modid & 0xFFFFFFFF}-{cmdid & 0xFFFFFFFF}.lrc"


def read_cached_hosts(cache_dir: str, modid: int, cmdid: int,
                      max_age_ms: int = DEFAULT_CACHE_MAX_AGE_MS) -> Optional[List[Tuple[str, int]]]:
    """The module's cached nodes as (ip, port), or None when there is no usable file (missing,
    corrupt, of another version or module, too old)."""
    try:
        with open(os.path.join(cache_dir, cache_file_name(modid, cmdid)), "rb") as f:
            data = f.read(_HEADER.size + MAX_BODY_SIZE + 5)
    except OSError:
        return None
    if len(data) < _HEADER.size + 4:
        return None
    magic, version, _reserved, written_at, f_modid, f_cmdid, n = _HEADER.unpack_from(data)
    if magic != _MAGIC or version != _VERSION or n > MAX_BODY_SIZE or len(data) != _HEADER.size + n + 4:
        return None
    end = _HEADER.size + n
    if zlib.crc32(data[:end]) != struct.unpack_from(">I", data, end)[0]:
        return None
    if time.time() * 1000 - written_at > max_age_ms:
        return None
    if f_modid != modid & 0xFFFFFFFF or f_cmdid != cmdid & 0xFFFFFFFF:
        return None
    try:
        route = decode_get_route_response(data[_HEADER.size:end])
    except (WireError, UnicodeDecodeError):
        return None
    if route.modid & 0xFFFFFFFF != f_modid or route.cmdid & 0xFFFFFFFF != f_cmdid:
        return None
    if any(not 0 <= h.port <= 65535 for h in route.hosts):
        return None
    return [(int32_to_ip(h.ip), h.port) for h in route.hosts]
