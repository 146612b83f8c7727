#!/usr/bin/python3
"""A spoofed SYN flood against a TCP server while legitimate Linux clients connect and echo (driven by synflood.sh).

`flood` sends, from the kernel side of a link (net_tap to synack, or veth to a Linux network namespace), SYNs from
made-up hosts of the link's subnet that never answer: their SYN,ACKs go to MAC addresses nobody has, so no RST
ever comes back (as in hostile.py). Meanwhile Linux clients (peer.py's echo_once) open connections and echo
random bytes, which must come back byte-exact. Before the flood, `--idle N` connections are opened and left
idle (they fill synack's connection table); against synack, its mbufs in use are sampled throughout.

Prints "ok: ..." / "FAIL: ..." per check, then one line "result: {json}" with the numbers.
`echo-server` is the Linux reference's server (run inside the namespace). Only /usr/bin/python3 sees scapy.
"""
import argparse
import concurrent.futures
import json
import os
import random
import socket
import statistics
import sys
import threading
import time

from scapy.compat import raw
from scapy.layers.l2 import ARP, Ether

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostile import SYN, Link, Mbufs, Synack, eth, ipv4, tap_tx_dropped, tcp  # noqa: E402
from peer import echo_once  # noqa: E402

failures = 0


def check(cond, msg):
    global failures
    print(("ok: " if cond else "FAIL: ") + msg, flush=True)
    if not cond:
        failures += 1
    return cond


def silent_hosts(subnet, n):
    """Made-up hosts .10 .. .10+n-1 of the subnet, each with a MAC nobody on the link has."""
    return [(f"{subnet}.{10 + i}", f"02:5c:00:00:00:{10 + i:02x}") for i in range(n)]


def teach(link, server, silent):
    """ARP requests from the made-up hosts: the server learns their MACs and sends SYN,ACKs there (and nowhere
    else), where nobody answers."""
    link.send([raw(Ether(dst="ff:ff:ff:ff:ff:ff", src=mac) / ARP(op=1, hwsrc=mac, psrc=ip, pdst=server))
               for ip, mac in silent])
    time.sleep(0.2)


def flood_frames(server, server_mac, port, silent, count, rng):
    frames = []
    for i in range(count):
        ip, mac = silent[i % len(silent)]
        sport = 1024 + (i // len(silent)) % 64000
        frames.append(eth(server_mac, mac, 0x0800, ipv4(ip, server, 6, tcp(
            ip, server, sport, port, rng.getrandbits(32), 0, SYN, opts=b"\x02\x04\x05\xb4"))))
    return frames


class Flood(threading.Thread):
    """Sends `frames` round and round at about `rate` per second for `seconds`."""

    def __init__(self, link, frames, rate, seconds):
        super().__init__(daemon=True)
        self.link, self.frames, self.rate, self.seconds = link, frames, rate, seconds
        self.sent = 0
        self.elapsed = 0.0

    def run(self):
        burst = 64
        t0 = time.time()
        i = 0
        while True:
            now = time.time() - t0
            if now >= self.seconds:
                break
            ahead = self.sent / self.rate - now  # keep to the rate: sleep while ahead of it
            if ahead > 0:
                time.sleep(ahead)
            for _ in range(burst):
                self.link.tx.send(self.frames[i])
                i = (i + 1) % len(self.frames)
            self.sent += burst
        self.elapsed = time.time() - t0


class Clients:
    """Legitimate clients: each opens a connection, echoes `size` random bytes, checks them, closes."""

    def __init__(self, host, port, size=2000, workers=8, timeout=10):
        self.host, self.port, self.size, self.workers, self.timeout = host, port, size, workers, timeout
        self.ok = 0
        self.bad = []
        self.connect_ms = []
        self.lock = threading.Lock()

    def one(self):
        data = os.urandom(self.size)
        t0 = time.time()
        try:
            s = socket.create_connection((self.host, self.port), timeout=self.timeout)
            ms = (time.time() - t0) * 1000
            s.close()
            got = echo_once(self.host, self.port, data, timeout=self.timeout)
        except OSError as e:
            with self.lock:
                self.bad.append(repr(e))
            return
        with self.lock:
            if got == data:
                self.ok += 1
                self.connect_ms.append(ms)
            else:
                self.bad.append(f"echo differs: sent {len(data)} bytes, got {len(got)}")

    def run_for(self, seconds):
        """Keeps `workers` clients going for `seconds`; returns how many were started."""
        deadline = time.time() + seconds
        started = 0
        with concurrent.futures.ThreadPoolExecutor(self.workers) as ex:
            futs = []
            while time.time() < deadline:
                futs = [f for f in futs if not f.done()]
                while len(futs) < self.workers:
                    futs.append(ex.submit(self.one))
                    started += 1
                time.sleep(0.002)
        return started

    def summary(self):
        n = self.ok + len(self.bad)
        p50 = statistics.median(self.connect_ms) if self.connect_ms else None
        return n, self.ok, p50


def run(a):
    rng = random.Random(7)
    link = Link(a.iface, a.mac)
    sy = Synack(a.log, a.pid) if a.pid else None
    mb = Mbufs(a.pid) if a.pid else None
    if mb is not None and mb.error:
        check(False, f"cannot read synack's mbuf pool: {mb.error}")
        mb = None
    subnet = a.host.rsplit(".", 1)[0]
    silent = silent_hosts(subnet, a.sources)
    teach(link, a.host, silent)
    frames = flood_frames(a.host, a.mac, a.port, silent, a.frames, rng)
    result = {"label": a.label, "rate_target": a.rate, "flood_s": a.seconds}

    base = mb.in_use() if mb else None
    result["mbufs_idle"] = base
    idle = []
    for _ in range(a.idle):
        idle.append(socket.create_connection((a.host, a.port), timeout=5))
    if sy is not None:
        c, _ = sy.wait(lambda c, tw: c >= a.idle, 5)
        check(c >= a.idle, f"{a.idle} idle connections established (conns={c})")
    if mb:
        result["mbufs_with_idle"] = mb.in_use()

    drops0 = tap_tx_dropped(a.iface)
    flood = Flood(link, frames, a.rate, a.seconds)
    during = Clients(a.host, a.port)
    samples = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            if mb:
                samples.append(mb.in_use())
            stop.wait(0.3)

    sampler = threading.Thread(target=sample, daemon=True)
    flood.start()
    sampler.start()
    time.sleep(0.3)  # the flood first, then the clients
    during.run_for(max(0.5, a.seconds - 0.6))
    flood.join()
    stop.set()
    sampler.join()
    drops = tap_tx_dropped(a.iface) - drops0 if drops0 >= 0 else -1
    rate = flood.sent / flood.elapsed if flood.elapsed else 0
    n, good, p50 = during.summary()
    result.update(flood_sent=flood.sent, flood_rate=round(rate), link_drops=drops, during_total=n, during_ok=good,
                  during_connect_p50_ms=p50 and round(p50, 3))
    print(f"   flood: {flood.sent} SYNs in {flood.elapsed:.2f} s ({rate:.0f}/s), {drops} dropped by the link", flush=True)
    if drops > 0.01 * flood.sent:
        print(f"note: the link dropped {100 * drops / flood.sent:.1f}% of the flood (the receiver was not scheduled "
              "often enough on this machine): the rate is above what it delivers right now", flush=True)
    check(n >= 20, f"{n} legitimate clients ran during the flood")
    check(n > 0 and good >= 0.99 * n, f"during the flood: {good} of {n} legitimate clients echoed byte-exact "
          f"(p50 connect {p50 if p50 is None else round(p50, 2)} ms){'; ' + during.bad[0] if during.bad else ''}")

    after = Clients(a.host, a.port)
    after.run_for(1.5)
    n2, good2, p50b = after.summary()
    result.update(after_total=n2, after_ok=good2, after_connect_p50_ms=p50b and round(p50b, 3))
    check(n2 > 0 and good2 >= 0.99 * n2, f"after the flood: {good2} of {n2} legitimate clients echoed byte-exact"
          f"{'; ' + after.bad[0] if after.bad else ''}")
    for s in idle:
        s.close()

    if mb:
        peak = max(samples) if samples else None
        result["mbufs_peak_during"] = peak
        check(peak is not None and peak <= result["mbufs_with_idle"] + a.mbuf_slack,
              f"mbufs in use stay flat during the flood: peak {peak}, idle {base}, with the idle connections "
              f"{result['mbufs_with_idle']} (slack {a.mbuf_slack})")
        end = None
        for _ in range(20):
            end = mb.in_use()
            if end <= base + 16:
                break
            time.sleep(0.25)
        result["mbufs_end"] = end
        check(end <= base + 16, f"mbufs back to the idle level at the end: {end} (idle {base})")
    if sy is not None:
        check(sy.alive(), "synack-echo still running")
    link.close()
    print("result: " + json.dumps(result), flush=True)
    return 1 if failures else 0


def echo_server(a):
    import asyncio

    async def handle(r, w):
        try:
            while True:
                b = await r.read(65536)
                if not b:
                    break
                w.write(b)
                await w.drain()
        except OSError:
            pass
        w.close()

    async def main():
        srv = await asyncio.start_server(handle, a.host, a.port, backlog=1024, reuse_address=True)
        print("listening", flush=True)
        async with srv:
            await asyncio.sleep(a.seconds)

    asyncio.run(main())
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("flood")
    f.add_argument("--iface", required=True, help="our end of the link")
    f.add_argument("--host", required=True, help="the server's address")
    f.add_argument("--mac", required=True, help="the server's MAC")
    f.add_argument("--port", type=int, default=7)
    f.add_argument("--log", help="synack's output (stats lines)")
    f.add_argument("--pid", type=int, default=0, help="synack's pid (mbufs, connections); 0 for Linux")
    f.add_argument("--idle", type=int, default=0, help="idle connections opened before the flood")
    f.add_argument("--rate", type=int, default=20000, help="SYNs per second")
    f.add_argument("--seconds", type=float, default=4)
    f.add_argument("--sources", type=int, default=8, help="made-up source hosts")
    f.add_argument("--frames", type=int, default=40000, help="distinct SYNs, sent round and round")
    f.add_argument("--mbuf-slack", type=int, default=256)
    f.add_argument("--label", default="")
    e = sub.add_parser("echo-server")
    e.add_argument("--host", required=True)
    e.add_argument("--port", type=int, default=7)
    e.add_argument("--seconds", type=float, default=120)
    a = p.parse_args()
    sys.exit(run(a) if a.cmd == "flood" else echo_server(a))


if __name__ == "__main__":
    main()
