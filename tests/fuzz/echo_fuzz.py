#!/usr/bin/python3
"""Random frames from the kernel side of a tap at synack-echo (driven by tests/fuzz/echo_fuzz.sh).

`run`: for --seconds, bursts of random frames at a bounded rate (--rate frames/s): random bytes behind an Ethernet
header, scapy's fuzz() of ARP, IPv4, ICMP and TCP (checksums right, so they reach the parsers), and TCP segments
to port 7 from a small set of source ports with random flags, sequence numbers, windows, options and payloads
(so they open, feed and confuse real connections). Every few seconds a Linux client echoes 64 KB byte-exact.
Then every source port used is cleaned up: a probe draws synack's ACK (which carries RCV.NXT) and a RST at exactly
RCV.NXT resets the connection (RFC 5961 §3.2), repeated until nothing answers but RSTs.
Prints "ok: ..." / "FAIL: ..." lines; exits 1 on any failure. Only /usr/bin/python3 sees Debian's scapy.
"""
import argparse
import os
import random
import socket
import sys
import time

from scapy.all import conf, fuzz, AsyncSniffer
from scapy.layers.inet import ICMP, IP, TCP, TCPOptionsField, UDP  # noqa: F401
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

conf.verb = 0
failures = 0


def ok(msg):
    print("ok: " + msg, flush=True)


def fail(msg):
    global failures
    failures += 1
    print("FAIL: " + msg, flush=True)


OPTION_SETS = [
    [], [("MSS", 1460)], [("MSS", 0)], [("MSS", 1)], [("WScale", 14)], [("WScale", 200)], [("SAckOK", b"")],
    [("Timestamp", (1, 0))], [("MSS", 536), ("SAckOK", b""), ("Timestamp", (5, 0)), ("NOP", None), ("WScale", 7)],
    [("SAck", (1, 100))], [("NOP", None)] * 3 + [("EOL", None)],
]


class Fuzz:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.peer = a.peer
        self.sock = conf.L2socket(iface=a.iface)
        self.src_mac = open(f"/sys/class/net/{a.iface}/address").read().strip()
        self.ports = list(range(42000, 42000 + a.ports))
        self.sent = 0

    def eth(self, payload, dst=None, etype=None):
        e = Ether(dst=dst or self.a.mac, src=self.src_mac)
        if etype is not None:
            e.type = etype
        return e / payload

    def tcp_frame(self):
        r = self.rng
        flags = r.choice(["S", "S", "A", "PA", "FA", "R", "RA", "SA", "F", "", "SF", "SR", "FPU", r.randrange(256)])
        seq = r.choice([r.randrange(1 << 32), r.randrange(1 << 16), (1 << 32) - r.randrange(1, 2000)])
        payload = os.urandom(r.choice([0, 0, 1, 10, 100, 536, 1400]))
        t = TCP(sport=r.choice(self.ports), dport=r.choice([7, 7, 7, 9]), flags=flags, seq=seq,
                ack=r.randrange(1 << 32), window=r.choice([0, 1, 512, 65535, r.randrange(65536)]),
                options=r.choice(OPTION_SETS))
        return self.eth(IP(src=self.peer, dst=self.a.host) / t / Raw(payload))

    def random_frame(self):
        r = self.rng
        k = r.randrange(6)
        if k == 0:  # bytes behind an Ethernet header: IPv4, ARP or anything
            return self.eth(Raw(os.urandom(r.randrange(0, 300))), etype=r.choice([0x0800, 0x0806, r.randrange(65536)]))
        if k == 1:
            return self.eth(fuzz(ARP(pdst=self.a.host)), etype=0x0806,
                            dst=r.choice([self.a.mac, "ff:ff:ff:ff:ff:ff"]))
        if k == 2:  # IPv4 header fuzzed around ours (version, IHL, lengths, flags, TTL, protocol)
            ip = fuzz(IP(src=self.peer, dst=self.a.host))
            ip.version = r.choice([4, 4, 4, r.randrange(16)])
            return self.eth(ip / Raw(os.urandom(r.randrange(0, 80))))
        if k == 3:
            return self.eth(IP(src=self.peer, dst=self.a.host) / fuzz(ICMP()) / Raw(os.urandom(r.randrange(0, 64))))
        return self.tcp_frame()  # k 4, 5: most frames are TCP for port 7

    def send_burst(self, n):
        frames = [self.random_frame() for _ in range(n)]
        for f in frames:
            self.sock.send(f)
        self.sent += n

    def echo_check(self):
        data = os.urandom(65536)
        try:
            with socket.create_connection((self.a.host, 7), timeout=5) as s:
                s.settimeout(10)
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                got = b""
                while len(got) < len(data):
                    c = s.recv(65536)
                    if not c:
                        break
                    got += c
            return got == data
        except OSError as e:
            print(f"   echo client: {e}", flush=True)
            return False

    def cleanup(self):
        """Resets every connection the fuzz frames may have left: a probe outside any window draws synack's ACK
        (<SEQ=SND.NXT><ACK=RCV.NXT>), answered by a RST at exactly RCV.NXT."""
        left = None
        for rnd in range(8):
            sn = AsyncSniffer(iface=self.a.iface, store=True,
                              lfilter=lambda p: TCP in p and p[IP].src == self.a.host and p[TCP].dport in set(self.ports))
            sn.start()
            time.sleep(0.3)
            for p in self.ports:
                for dport in (7, 9):
                    # No ACK bit, sequence number half the space away: unacceptable in any synchronized state.
                    self.sock.send(self.eth(IP(src=self.peer, dst=self.a.host) /
                                            TCP(sport=p, dport=dport, flags="", seq=self.rng.randrange(1 << 32))))
            time.sleep(1.0)
            got = sn.stop() or []
            live = {}
            for q in got:
                if not q[TCP].flags & 0x04:  # not a RST: a connection still there
                    live[(q[TCP].dport, q[TCP].sport)] = q[TCP].ack
            for (p, dport), ack in live.items():
                self.sock.send(self.eth(IP(src=self.peer, dst=self.a.host) / TCP(sport=p, dport=dport, flags="R", seq=ack)))
            print(f"   cleanup round {rnd + 1}: {len(live)} connections answered", flush=True)
            left = len(live)
            if not live:
                break
            time.sleep(1.1)  # challenge ACKs are throttled per connection per second
        return left

    def run(self):
        start = time.time()
        next_echo = start
        echoes = echo_ok = 0
        per_burst = max(1, self.a.rate // 10)
        while time.time() - start < self.a.seconds:
            t0 = time.time()
            self.send_burst(per_burst)
            if time.time() >= next_echo:
                echoes += 1
                echo_ok += self.echo_check()
                next_echo = time.time() + 5
            if not os.path.exists(f"/proc/{self.a.pid}"):
                fail("synack-echo died during the fuzzing")
                return
            time.sleep(max(0.0, 0.1 - (time.time() - t0)))
        ok(f"{self.sent} random frames in {time.time() - start:.0f} s, synack-echo alive")
        if echo_ok == echoes:
            ok(f"{echo_ok} of {echoes} Linux clients echoed 64 KB byte-exact during the fuzzing")
        else:
            fail(f"only {echo_ok} of {echoes} Linux clients echoed 64 KB byte-exact during the fuzzing")
        if self.echo_check():
            ok("a Linux client echoes 64 KB byte-exact after the fuzzing")
        else:
            fail("a Linux client does not echo after the fuzzing")
        left = self.cleanup()
        if left == 0:
            ok("every fuzzed connection reset (no answers but RSTs)")
        else:
            fail(f"{left} fuzzed connections still answer after the cleanup")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--iface", required=True)
    p.add_argument("--host", required=True)
    p.add_argument("--peer", required=True)
    p.add_argument("--mac", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--seconds", type=int, default=40)
    p.add_argument("--rate", type=int, default=1000)
    p.add_argument("--ports", type=int, default=32)
    p.add_argument("--seed", type=int, default=int(time.time()))
    a = p.parse_args()
    print(f"   seed {a.seed}", flush=True)
    Fuzz(a).run()
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
