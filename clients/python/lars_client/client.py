"""LarsClient: get_host / report / get_route / register against the Lars agent on this host, over
UDP, datagram for datagram what the TypeScript SDK (src/sdk/lars-client.ts) sends.

Thread-safe: one socket per client, and one lock that a request holds from its send to its reply,
so requests from several threads take turns (a reply that arrives while nobody waits for it is
stale and dropped). For parallel requests use one client per thread; report() never waits.
Requests never raise for a missing or silent agent and never hang: each answers after timeout_ms at
the latest, from the agent's route cache on disk when it has the module, else RET_SYSTEM_ERROR.
"""
from __future__ import annotations

import os
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple, TypeVar, Union

from . import _wire as wire
from ._cache import DEFAULT_CACHE_DIR, DEFAULT_CACHE_MAX_AGE_MS, read_cached_hosts

RET_SUCC = 0
RET_OVERLOAD = 1
RET_SYSTEM_ERROR = 2
RET_NOEXIST = 3

DEFAULT_AGENT_HOST = "127.0.0.1"
DEFAULT_AGENT_PORT = 8888
DEFAULT_TIMEOUT_MS = 100
DEFAULT_REG_INIT_ATTEMPTS = 10
DEFAULT_REG_INIT_DELAY_MS = 50
DEFAULT_REGISTER_TTL_MS = 10_000
# The agent accepts leases of 1 s to 10 min (src/wire/lease.ts); a registration is sent this many
# times, timeout_ms apart, before register() gives up (as the TypeScript SDK does).
MIN_REGISTER_TTL_MS, MAX_REGISTER_TTL_MS = 1_000, 600_000
REGISTER_ATTEMPTS = 3
_ZONE = re.compile(r"[A-Za-z0-9._-]{0,64}")

_INT32_MIN, _UINT32_MAX = -(1 << 31), (1 << 32) - 1
T = TypeVar("T")


class LarsError(Exception):
    """A failure with a stable code: ERR_INVALID_INPUT, ERR_NO_HOST, ERR_TIMEOUT, ERR_REFUSED, ERR_CLOSED
    (the codes of the TypeScript SDK, src/errors.ts)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{message} [{code}]")
        self.code = code


@dataclass(frozen=True)
class Host:
    ip: str
    port: int


@dataclass(frozen=True)
class HostResult:
    """retcode RET_SUCC with ip and port; RET_OVERLOAD, RET_NOEXIST or RET_SYSTEM_ERROR without.
    from_cache: the agent did not answer in time, the node comes from its disk cache (round robin)."""
    retcode: int
    ip: Optional[str] = None
    port: Optional[int] = None
    from_cache: bool = False


@dataclass(frozen=True)
class RouteResult:
    """RET_SUCC with at least one host, RET_NOEXIST for an empty route, RET_SYSTEM_ERROR without a reply."""
    retcode: int
    hosts: List[Host] = field(default_factory=list)
    from_cache: bool = False


@dataclass
class Stats:
    sent: int = 0
    matched: int = 0
    stale: int = 0
    malformed: int = 0
    unexpected: int = 0
    timeouts: int = 0
    from_cache: int = 0
    send_errors: int = 0


_SYSTEM_ERROR = HostResult(RET_SYSTEM_ERROR)
_NO_ROUTE = RouteResult(RET_SYSTEM_ERROR)


def _invalid(message: str) -> LarsError:
    return LarsError("ERR_INVALID_INPUT", f"lars client: {message}")


def _check_id(name: str, v: int) -> int:
    """modid / cmdid: an int32, or a uint32 as the store numbers them; returned as the wire's int32."""
    if not isinstance(v, int) or isinstance(v, bool) or not _INT32_MIN <= v <= _UINT32_MAX:
        raise _invalid(f"{name} must be an integer -2147483648..4294967295, got {v!r}")
    return wire._int32(v)


def _check_int(name: str, v: int, lo: int, hi: int) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise _invalid(f"{name} must be an integer {lo}..{hi}, got {v!r}")
    return v


def _check_ip(ip: str) -> int:
    try:
        return wire.ip_to_int32(ip)
    except (ValueError, AttributeError):
        raise _invalid(f"ip must be a dotted-quad IPv4 address, got {ip!r}") from None


def agent_port_index(modid: int, cmdid: int) -> int:
    """Which of the agent's three ports serves (modid, cmdid): (modid + cmdid) % 3 over the wire's int32s."""
    return (wire._int32(modid) + wire._int32(cmdid)) % 3


class _Stale:
    """accept() result: a well-formed reply that is not the one waited for."""


_STALE = _Stale()


class LarsClient:
    def __init__(self, host: str = DEFAULT_AGENT_HOST, port: int = DEFAULT_AGENT_PORT, *,
                 timeout_ms: int = DEFAULT_TIMEOUT_MS,
                 reg_init_attempts: int = DEFAULT_REG_INIT_ATTEMPTS,
                 reg_init_delay_ms: int = DEFAULT_REG_INIT_DELAY_MS,
                 cache_dir: str = DEFAULT_CACHE_DIR,
                 cache_max_age_ms: int = DEFAULT_CACHE_MAX_AGE_MS) -> None:
        """host, port: the agent's address and the first of its three UDP ports. cache_dir: the
        agent's [agent] cache_dir, read when the agent does not answer ('' turns that off)."""
        if not isinstance(host, str) or host == "":
            raise _invalid(f"host must be a non-empty string, got {host!r}")
        self.host = host
        self.port = _check_int("port", port, 1, 65533)
        self.timeout_ms = _check_int("timeout_ms", timeout_ms, 1, 0x7FFFFFFF)
        self._reg_init_attempts = _check_int("reg_init_attempts", reg_init_attempts, 1, 1_000_000)
        self._reg_init_delay_ms = _check_int("reg_init_delay_ms", reg_init_delay_ms, 0, 0x7FFFFFFF)
        self._cache_dir = os.path.abspath(cache_dir) if cache_dir else None
        self._cache_max_age_ms = cache_max_age_ms
        try:
            # Resolved once: a name lookup per datagram would cost more than the request.
            self._agent_ip = socket.gethostbyname(host)
        except OSError as e:
            raise _invalid(f"cannot resolve the agent host {host!r}: {e}") from None
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("0.0.0.0", 0))
        self._exchange_lock = threading.Lock()
        self._state_lock = threading.Lock()  # counters, seq, cache cursors, registrations
        self._stats = Stats()
        self._seq = 0
        self._cache_cursor: Dict[Tuple[int, int], int] = {}
        self._registrations: List["Registration"] = []
        self._closed = False
        self._wake = threading.Event()  # set by close(): reg_init stops waiting

    # --- public API -----------------------------------------------------------------------------

    def port_for(self, modid: int, cmdid: int) -> int:
        """The agent port module (modid, cmdid) is sent to."""
        return self.port + agent_port_index(modid, cmdid)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def stats(self) -> Stats:
        with self._state_lock:
            return Stats(**vars(self._stats))

    def reg_init(self, modid: int, cmdid: int) -> int:
        """Asks for the route until the agent knows it, so that the first get_host finds it: RET_SUCC
        once it has a node, RET_NOEXIST if still none after reg_init_attempts requests, RET_SYSTEM_ERROR
        if the agent never answered."""
        _check_id("modid", modid)
        _check_id("cmdid", cmdid)
        answered = False
        for attempt in range(1, self._reg_init_attempts + 1):
            r = self.get_route(modid, cmdid)
            if r.retcode == RET_SUCC:
                return RET_SUCC
            answered = answered or r.retcode == RET_NOEXIST
            if attempt == self._reg_init_attempts or self._wake.wait(self._reg_init_delay_ms / 1000):
                break
        return RET_NOEXIST if answered else RET_SYSTEM_ERROR

    def get_host(self, modid: int, cmdid: int, key: Union[str, bytes, None] = None) -> HostResult:
        """A node of (modid, cmdid) as the agent picks it. key: the request's affinity key for a
        ring_hash module (str is sent as UTF-8)."""
        m, c = _check_id("modid", modid), _check_id("cmdid", cmdid)
        if key is not None and not isinstance(key, (str, bytes)):
            raise _invalid(f"key must be a str or bytes, got {key!r}")
        hash_key = key.encode("utf-8") if isinstance(key, str) else (key or b"")
        if self._closed:
            return _SYSTEM_ERROR
        seq = self._next_seq()

        def accept(msgid: int, body: bytes) -> Union[HostResult, _Stale, None]:
            if msgid != wire.ID_GET_HOST_RESPONSE:
                return None
            r = wire.decode_get_host_response(body)
            # Another seq: the reply to a request that timed out (or a confused agent).
            if r.seq != seq or r.modid != m or r.cmdid != c:
                return _STALE
            return _host_result(r)

        result = self._exchange(wire.encode_get_host_request(seq, m, c, hash_key), m, c, accept)
        return result if result is not None else self._host_from_cache(m, c)

    def report(self, modid: int, cmdid: int, ip: str, port: int, retcode: int, usetime_us: int = 0) -> None:
        """Tells the agent how a call to ip:port went: RET_SUCC, or anything else (use RET_OVERLOAD)
        for a failure; usetime_us: how long it took (0: not measured). Fire and forget."""
        m, c = _check_id("modid", modid), _check_id("cmdid", cmdid)
        frame = wire.encode_report_request(m, c, _check_ip(ip), _check_int("port", port, 0, 65535),
                                           _check_int("retcode", retcode, _INT32_MIN, 0x7FFFFFFF),
                                           _check_int("usetime_us", usetime_us, 0, _UINT32_MAX))
        if not self._closed:
            self._send(frame, m, c)

    def get_route(self, modid: int, cmdid: int) -> RouteResult:
        """Every node of (modid, cmdid) as the agent knows it."""
        m, c = _check_id("modid", modid), _check_id("cmdid", cmdid)
        if self._closed:
            return _NO_ROUTE

        def accept(msgid: int, body: bytes) -> Union[RouteResult, _Stale, None]:
            if msgid != wire.ID_API_GET_ROUTE_RESPONSE:
                return None
            r = wire.decode_get_route_response(body)
            # Route replies carry no seq: any reply for the module answers the request.
            if r.modid != m or r.cmdid != c:
                return _STALE
            if any(not 0 <= h.port <= 65535 for h in r.hosts):
                return _NO_ROUTE
            hosts = [Host(wire.int32_to_ip(h.ip), h.port) for h in r.hosts]
            return RouteResult(RET_SUCC if hosts else RET_NOEXIST, hosts)

        result = self._exchange(wire.encode_api_get_route_request(m, c), m, c, accept)
        return result if result is not None else self._route_from_cache(m, c)

    def call(self, modid: int, cmdid: int, fn: Callable[[Host], T], key: Union[str, bytes, None] = None) -> T:
        """Picks a node, runs fn(node), reports RET_SUCC with the time it took when fn returns and
        RET_OVERLOAD when it raises (and re-raises). Raises LarsError ERR_NO_HOST or ERR_TIMEOUT
        without calling fn when no node can be picked."""
        picked = self.get_host(modid, cmdid, key)
        if picked.retcode != RET_SUCC:
            raise self._no_host_error(modid, cmdid, picked.retcode)
        node = Host(picked.ip, picked.port)  # type: ignore[arg-type]
        start = time.perf_counter_ns()
        try:
            result = fn(node)
        except Exception:
            self.report(modid, cmdid, node.ip, node.port, RET_OVERLOAD, _elapsed_us(start))
            raise
        self.report(modid, cmdid, node.ip, node.port, RET_SUCC, _elapsed_us(start))
        return result

    def register(self, modid: int, cmdid: int, ip: str, port: int, *, weight: int = 0, zone: str = "",
                 ttl_ms: int = DEFAULT_REGISTER_TTL_MS) -> "Registration":
        """Registers node ip:port for (modid, cmdid) through the agent, with a lease of ttl_ms
        (1 000..600 000) that the returned handle renews every ttl/3 until deregister() (or close()).
        weight 0 means the default (100). Returns once the agent accepted it; raises LarsError
        ERR_TIMEOUT when no agent answers, ERR_REFUSED when it refuses (its log says why)."""
        # The agent takes registrations only for ids it reads as non-negative int32s.
        if not isinstance(modid, int) or not 0 <= modid <= 0x7FFFFFFF or not isinstance(cmdid, int) or not 0 <= cmdid <= 0x7FFFFFFF:
            raise _invalid(f"register: modid and cmdid must be integers 0..2147483647, got {modid!r} {cmdid!r}")
        ip32 = _check_ip(ip)
        if ip32 == 0:
            raise _invalid("register: the ip must be a non-zero IPv4 address")
        if not isinstance(zone, str) or not _ZONE.fullmatch(zone):
            raise _invalid(f"register: the zone must be at most 64 characters of A-Z a-z 0-9 . _ -, got {zone!r}")
        m, c = wire._int32(modid), wire._int32(cmdid)
        reg = Registration(self, m, c, ip, ip32, _check_int("port", port, 1, 65535), _check_int("weight", weight, 0, 10000),
                           zone, _check_int("ttl_ms", ttl_ms, MIN_REGISTER_TTL_MS, MAX_REGISTER_TTL_MS))
        if self._closed:
            raise LarsError("ERR_CLOSED", "lars client: register() on a closed client; create a new LarsClient")
        what = f"registration of {ip}:{port} for modid {modid} cmdid {cmdid}"
        retcode = None
        for _ in range(REGISTER_ATTEMPTS):
            retcode = reg._send(deregister=False)
            if retcode is not None:
                break
        if retcode is None:
            raise LarsError("ERR_TIMEOUT", f"lars client: no agent answered the {what} at {self.host}:{self.port_for(m, c)} "
                                           f"({REGISTER_ATTEMPTS} x {self.timeout_ms} ms); is \"lars agent\" running?")
        if retcode != RET_SUCC:
            raise LarsError("ERR_REFUSED", f"lars client: the agent refused the {what} (retcode {retcode}); its log says why")
        with self._state_lock:
            self._registrations.append(reg)
        reg._start()
        return reg

    def close(self) -> None:
        """Deregisters every registration still live, then closes the socket; later requests answer
        RET_SYSTEM_ERROR and later reports are dropped. Idempotent."""
        with self._state_lock:
            regs, self._registrations = self._registrations, []
        for reg in regs:
            reg.deregister()
        with self._exchange_lock:
            if self._closed:
                return
            self._closed = True
            self._wake.set()
            self._sock.close()

    def __enter__(self) -> "LarsClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals ------------------------------------------------------------------------------

    def _count(self, name: str) -> None:
        with self._state_lock:
            setattr(self._stats, name, getattr(self._stats, name) + 1)

    def _next_seq(self) -> int:
        with self._state_lock:
            seq = self._seq
            self._seq = (seq + 1) & _UINT32_MAX
            return seq

    def _send(self, frame: bytes, modid: int, cmdid: int) -> bool:
        self._count("sent")
        try:
            self._sock.sendto(frame, (self._agent_ip, self.port_for(modid, cmdid)))
            return True
        except OSError:
            self._count("send_errors")
            return False

    def _exchange(self, frame: bytes, modid: int, cmdid: int,
                  accept: Callable[[int, bytes], Union[T, _Stale, None]]) -> Optional[T]:
        """Sends frame and waits for the reply accept() recognises (None: not this kind of message,
        _STALE: not ours); every other datagram is counted and dropped. None after timeout_ms."""
        with self._exchange_lock:
            if self._closed or not self._send(frame, modid, cmdid):
                return None
            deadline = time.monotonic() + self.timeout_ms / 1000
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._count("timeouts")
                    return None
                self._sock.settimeout(remaining)
                try:
                    datagram, (_ip, from_port) = self._sock.recvfrom(65536)
                except socket.timeout:
                    continue  # the loop counts the timeout
                except OSError:
                    continue  # e.g. an ICMP error for an earlier datagram
                if not self.port <= from_port <= self.port + 2:
                    self._count("unexpected")
                    continue
                try:
                    msgid, body = wire.decode_datagram(datagram)
                    result = accept(msgid, body)
                except ValueError:  # WireError, or a zone that is not UTF-8
                    self._count("malformed")
                    continue
                if result is None:
                    self._count("unexpected")
                elif result is _STALE:
                    self._count("stale")
                else:
                    self._count("malformed" if result is _SYSTEM_ERROR or result is _NO_ROUTE else "matched")
                    return result  # type: ignore[return-value]

    def _cached_hosts(self, modid: int, cmdid: int) -> List[Host]:
        if self._cache_dir is None:
            return []
        hosts = read_cached_hosts(self._cache_dir, modid, cmdid, self._cache_max_age_ms)
        return [Host(ip, port) for ip, port in hosts or []]

    def _host_from_cache(self, modid: int, cmdid: int) -> HostResult:
        hosts = self._cached_hosts(modid, cmdid)
        if not hosts:
            return _SYSTEM_ERROR
        with self._state_lock:
            i = self._cache_cursor.get((modid, cmdid), 0) % len(hosts)
            self._cache_cursor[(modid, cmdid)] = i + 1
            self._stats.from_cache += 1
        return HostResult(RET_SUCC, hosts[i].ip, hosts[i].port, from_cache=True)

    def _route_from_cache(self, modid: int, cmdid: int) -> RouteResult:
        hosts = self._cached_hosts(modid, cmdid)
        if not hosts:
            return _NO_ROUTE
        self._count("from_cache")
        return RouteResult(RET_SUCC, hosts, from_cache=True)

    def _no_host_error(self, modid: int, cmdid: int, retcode: int) -> LarsError:
        module = f"modid {modid} cmdid {cmdid}"
        if retcode == RET_NOEXIST:
            return LarsError("ERR_NO_HOST", f"lars client: no node for {module}: the agent has no route for it yet "
                                            f"(RET_NOEXIST); call reg_init({modid}, {cmdid}) at start-up, and check "
                                            f"the module has nodes (lars route ls {modid} {cmdid})")
        if retcode == RET_OVERLOAD:
            return LarsError("ERR_NO_HOST", f"lars client: no node for {module}: every node is overloaded "
                                            "(RET_OVERLOAD); back off or degrade, the agent probes them again")
        if self._closed:
            return LarsError("ERR_NO_HOST", f"lars client: no node for {module}: the client is closed "
                                            "(RET_SYSTEM_ERROR); create a new LarsClient")
        return LarsError("ERR_TIMEOUT", f"lars client: no node for {module}: the agent at {self.host}:"
                                        f"{self.port_for(modid, cmdid)} did not answer within {self.timeout_ms} ms "
                                        "(RET_SYSTEM_ERROR); is \"lars agent\" running?")


class Registration:
    """A node registered through the agent: re-sends its RegisterRequest every ttl/3 on a daemon
    thread (the agent renews the lease only while they keep coming) until deregister()."""

    def __init__(self, client: LarsClient, modid: int, cmdid: int, ip: str, ip32: int, port: int, weight: int,
                 zone: str, ttl_ms: int) -> None:
        self.modid, self.cmdid, self.ip, self.port = modid, cmdid, ip, port
        self.weight, self.zone, self.ttl_ms = weight, zone, ttl_ms
        self._client = client
        self._ip32 = ip32
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._done_lock = threading.Lock()
        self._deregistered: Optional[int] = None
        self.renewals = 0
        self.renewal_failures = 0

    def deregister(self) -> int:
        """Stops renewing and removes the node at once: RET_SUCC when the agent confirmed,
        RET_SYSTEM_ERROR when it did not answer (the lease then expires after ttl_ms). Idempotent."""
        with self._done_lock:
            if self._deregistered is not None:
                return self._deregistered
            self._stop.set()
            if self._thread is not None and self._thread is not threading.current_thread():
                self._thread.join()
            retcode = None
            for _ in range(REGISTER_ATTEMPTS):
                retcode = self._send(deregister=True)
                if retcode is not None:
                    break
            self._deregistered = RET_SYSTEM_ERROR if retcode is None else retcode
        with self._client._state_lock:
            if self in self._client._registrations:
                self._client._registrations.remove(self)
        return self._deregistered

    def __enter__(self) -> "Registration":
        return self

    def __exit__(self, *exc: object) -> None:
        self.deregister()

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._renew, name=f"lars-register-{self.modid}-{self.cmdid}", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        while not self._stop.wait(self.ttl_ms / 3000):
            if self._send(deregister=False) == RET_SUCC:
                self.renewals += 1
            else:
                self.renewal_failures += 1  # the agent may be restarting: keep trying until the lease expires

    def _send(self, deregister: bool) -> Optional[int]:
        """The agent's retcode, None without a reply in time. A deregistration carries ttl 0."""
        c = self._client
        seq = c._next_seq()
        frame = wire.encode_register_request(seq, self.modid, self.cmdid, self._ip32, self.port, self.weight,
                                             self.zone, 0 if deregister else self.ttl_ms, deregister)

        def accept(msgid: int, body: bytes) -> Union[int, _Stale, None]:
            if msgid != wire.ID_REGISTER_RESPONSE:
                return None
            r = wire.decode_register_response(body)
            return r.retcode if r.seq == seq else _STALE

        return c._exchange(frame, self.modid, self.cmdid, accept)


def _host_result(r: wire.GetHostResponse) -> HostResult:
    """A reply that makes no sense (RET_SUCC without a usable host, an unknown retcode) is RET_SYSTEM_ERROR."""
    if r.retcode == RET_SUCC:
        if r.host is None or not 0 <= r.host.port <= 65535:
            return _SYSTEM_ERROR
        return HostResult(RET_SUCC, wire.int32_to_ip(r.host.ip), r.host.port)
    if r.retcode in (RET_OVERLOAD, RET_NOEXIST, RET_SYSTEM_ERROR):
        return HostResult(r.retcode)
    return _SYSTEM_ERROR


def _elapsed_us(start_ns: int) -> int:
    return min((time.perf_counter_ns() - start_ns) // 1000, _UINT32_MAX)
