"""The Lars client for Python: get_host / report / get_route / call / register against the agent on
this host over UDP (standard library only)."""
from ._cache import DEFAULT_CACHE_DIR, DEFAULT_CACHE_MAX_AGE_MS
from .client import (DEFAULT_AGENT_HOST, DEFAULT_AGENT_PORT, DEFAULT_REGISTER_TTL_MS, DEFAULT_TIMEOUT_MS,
                     RET_NOEXIST, RET_OVERLOAD, RET_SUCC, RET_SYSTEM_ERROR, Host, HostResult, LarsClient, LarsError,
                     Registration, RouteResult, Stats, agent_port_index)

__all__ = [
    "DEFAULT_AGENT_HOST", "DEFAULT_AGENT_PORT", "DEFAULT_CACHE_DIR", "DEFAULT_CACHE_MAX_AGE_MS",
    "DEFAULT_REGISTER_TTL_MS", "DEFAULT_TIMEOUT_MS", "RET_NOEXIST", "RET_OVERLOAD", "RET_SUCC", "RET_SYSTEM_ERROR",
    "Host", "HostResult", "LarsClient", "LarsError", "Registration", "RouteResult", "Stats", "agent_port_index",
]
