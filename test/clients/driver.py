"""Drives the Python client for test/clients/*.test.ts and bench/: one command per stdin line
(space-separated words), one JSON line per answer on stdout. The Java driver (LarsDriver.java)
speaks the same protocol. Usage: driver.py BASE_PORT TIMEOUT_MS CACHE_DIR ('-' for none)."""
import json
import sys
import threading
import time

from lars_client import LarsClient, LarsError
from lars_client import _wire as wire


def host_json(r):
    return {"retcode": r.retcode, "ip": r.ip, "port": r.port, "from_cache": r.from_cache}


def decode(msgid, body):
    if msgid == wire.ID_GET_HOST_RESPONSE:
        r = wire.decode_get_host_response(body)
        host = None if r.host is None else {"ip": wire.int32_to_ip(r.host.ip), "port": r.host.port}
        return {"seq": r.seq, "modid": r.modid, "cmdid": r.cmdid, "retcode": r.retcode, "host": host}
    if msgid == wire.ID_API_GET_ROUTE_RESPONSE:
        r = wire.decode_get_route_response(body)
        return {"modid": r.modid, "cmdid": r.cmdid, "hosts": [f"{wire.int32_to_ip(h.ip)}:{h.port}" for h in r.hosts]}
    r = wire.decode_register_response(body)
    return {"seq": r.seq, "retcode": r.retcode}


def encode(kind, a):
    if kind == "get_host":
        return wire.encode_get_host_request(int(a[0]), int(a[1]), int(a[2]), bytes.fromhex(a[3]) if len(a) > 3 else b"")
    if kind == "report":
        return wire.encode_report_request(int(a[0]), int(a[1]), wire.ip_to_int32(a[2]), int(a[3]), int(a[4]), int(a[5]))
    if kind == "route":
        return wire.encode_api_get_route_request(int(a[0]), int(a[1]))
    zone = "" if a[6] == "-" else a[6]
    return wire.encode_register_request(int(a[0]), int(a[1]), int(a[2]), wire.ip_to_int32(a[3]), int(a[4]), int(a[5]),
                                        zone, int(a[7]), a[8] == "1")


def threads(client, m0, count, calls):
    """count threads share client, thread t asking calls times for module (m0 + t, 1), whose only
    node is 10.0.8.(t+1):8000+t; counts the answers that are (not) that node."""
    tally = {"right": 0, "wrong": 0}
    lock = threading.Lock()

    def run(t):
        for _ in range(calls):
            r = client.get_host(m0 + t, 1)
            ok = r.retcode == 0 and r.ip == f"10.0.8.{t + 1}" and r.port == 8000 + t
            with lock:
                tally["right" if ok else "wrong"] += 1

    ts = [threading.Thread(target=run, args=(t,)) for t in range(count)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return tally


def main():
    base, timeout_ms, cache_dir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    client = LarsClient("127.0.0.1", base, timeout_ms=timeout_ms, cache_dir="" if cache_dir == "-" else cache_dir,
                        reg_init_attempts=50, reg_init_delay_ms=20)
    regs = []
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        w = line.split()
        if not w:
            continue
        cmd, a = w[0], w[1:]
        out = None
        try:
            if cmd == "get_host":
                out = host_json(client.get_host(int(a[0]), int(a[1]), a[2] if len(a) > 2 else None))
            elif cmd == "report":
                client.report(int(a[0]), int(a[1]), a[2], int(a[3]), int(a[4]), int(a[5]) if len(a) > 5 else 0)
                out = {"ok": True}
            elif cmd == "get_route":
                r = client.get_route(int(a[0]), int(a[1]))
                out = {"retcode": r.retcode, "hosts": [f"{h.ip}:{h.port}" for h in r.hosts], "from_cache": r.from_cache}
            elif cmd == "reg_init":
                out = {"retcode": client.reg_init(int(a[0]), int(a[1]))}
            elif cmd == "call":
                def fn(node):
                    if a[2] == "fail":
                        raise RuntimeError("the call failed")
                    return f"{node.ip}:{node.port}"
                try:
                    out = {"ok": True, "node": client.call(int(a[0]), int(a[1]), fn)}
                except RuntimeError:
                    out = {"ok": False, "error": "fn"}
            elif cmd == "register":
                regs.append(client.register(int(a[0]), int(a[1]), a[2], int(a[3]), ttl_ms=int(a[4])))
                out = {"ok": True}
            elif cmd == "renewals":
                out = {"renewals": regs[-1].renewals, "failures": regs[-1].renewal_failures}
            elif cmd == "deregister":
                out = {"retcode": regs.pop().deregister()}
            elif cmd == "stats":
                out = vars(client.stats)
            elif cmd == "encode":
                out = {"hex": encode(a[0], a[1:]).hex()}
            elif cmd == "decode":
                try:
                    out = decode(int(a[0]), bytes.fromhex(a[1] if len(a) > 1 else ""))
                except ValueError:
                    out = {"malformed": True}
            elif cmd == "bench":
                m, c, seconds = int(a[0]), int(a[1]), float(a[2])
                n, start = 0, time.perf_counter()
                end = start + seconds
                while time.perf_counter() < end:
                    r = client.get_host(m, c)
                    if r.retcode == 0:
                        client.report(m, c, r.ip, r.port, 0)
                    n += 1
                out = {"ops": n, "seconds": time.perf_counter() - start}
            elif cmd == "threads":
                out = threads(client, int(a[0]), int(a[1]), int(a[2]))
            elif cmd == "close":
                client.close()
                out = {"ok": True}
            else:
                out = {"error": f"unknown command {cmd}"}
        except LarsError as e:
            out = {"error": e.code}
        print(json.dumps(out), flush=True)


main()
