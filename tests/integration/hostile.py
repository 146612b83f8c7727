#!/usr/bin/python3
"""Hostile traffic against synack-echo over net_tap (driven by hostile.sh).

`run` sends, from the kernel side of the tap, frames that are not for synack, broadcast junk, ARP for other
hosts, truncated and corrupt IPv4/TCP, odd TCP flag combinations, blind RSTs and SYNs against a live Linux
connection, SYN floods, out-of-order abuse, and kills Linux clients mid-transfer. Every frame goes to the tap
only, with addresses inside the tap's subnet (spoofed sources included). It prints one line per check
("ok: ..." / "FAIL: ..."; "note: ..." lines are observations that do not fail) and writes what synack's exit
report must show into an expectations file, which `verify` checks once synack has printed its counters.

Helpers: `stream` (a Linux client that keeps an echo transfer going until killed) and `mbufs` (mbufs in use).
Only /usr/bin/python3 sees Debian's scapy.
"""
import argparse
import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

from scapy.compat import raw
from scapy.layers.inet import ICMP, IP, IPOption, TCP, UDP
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Raw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer import echo_once  # noqa: E402  (peer.py runs nothing on import)

FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80
ETH_P_ALL, SOL_PACKET, PACKET_ADD_MEMBERSHIP, PACKET_MR_PROMISC, PACKET_OUTGOING = 3, 263, 1, 1, 4
BACKLOG = 1024  # TcpConfig::syn_backlog default (synack-echo passes none)

failures = 0


def ok(msg):
    print("ok: " + msg, flush=True)


def fail(msg):
    global failures
    failures += 1
    print("FAIL: " + msg, flush=True)


def note(msg):
    print("note: " + msg, flush=True)


def check(cond, msg):
    (ok if cond else fail)(msg)
    return cond


def flag_str(f):
    return "".join(c for c, b in zip("FSRPAUEC", (FIN, SYN, RST, PSH, ACK, URG, ECE, CWR)) if f & b) or "none"


# ---------------------------------------------------------------------------------------------------- frames

def mac_b(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def ip_b(ip):
    return socket.inet_aton(ip)


def cksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def eth(dst, src, etype, payload):
    return mac_b(dst) + mac_b(src) + struct.pack("!H", etype) + payload


def ipv4(src, dst, proto, payload, options=b"", ihl=None, total=None, version=4, frag=0x4000, bad_csum=False,
         ident=1):
    ihl = (20 + len(options)) // 4 if ihl is None else ihl
    total = 20 + len(options) + len(payload) if total is None else total
    h = bytearray(struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, 0, total & 0xFFFF, ident, frag, 64, proto, 0,
                              ip_b(src), ip_b(dst)) + options)
    c = cksum(bytes(h))
    if bad_csum:
        c = (c + 0x1111) & 0xFFFF or 0x1111
    h[10:12] = struct.pack("!H", c)
    return bytes(h) + payload


def tcp(src, dst, sport, dport, seq=0, ack=0, flags=SYN, win=65535, opts=b"", payload=b"", doff=None,
        bad_csum=False):
    doff = (20 + len(opts)) // 4 if doff is None else doff
    seg = bytearray(struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, (doff & 15) << 4,
                                flags, win, 0, 0) + opts + payload)
    c = cksum(ip_b(src) + ip_b(dst) + struct.pack("!BBH", 0, 6, len(seg)) + bytes(seg))
    if bad_csum:
        c = (c + 0x2222) & 0xFFFF or 0x2222
    seg[16:18] = struct.pack("!H", c)
    return bytes(seg)


def parse_tcp(frame):
    """(src, dst, sport, dport, seq, ack, flags, payload_len, options, payload, window) of an IPv4/TCP frame."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return None
    ihl = (frame[14] & 15) * 4
    total = struct.unpack("!H", frame[16:18])[0]
    t = 14 + ihl
    if len(frame) < t + 20:
        return None
    sport, dport, seq, ack, off, flags = struct.unpack("!HHIIBB", frame[t:t + 14])
    doff = (off >> 4) * 4
    return (socket.inet_ntoa(frame[26:30]), socket.inet_ntoa(frame[30:34]), sport, dport, seq, ack, flags,
            total - ihl - doff, frame[t + 20:t + doff], frame[t + doff:14 + total],
            struct.unpack("!H", frame[t + 14:t + 16])[0])


# ---------------------------------------------------------------------------------------------------- the link

class Link:
    """Raw frames in and out of the tap's kernel side. The sniffer keeps frames synack sent (bounded)."""

    def __init__(self, iface, synack_mac, cap=200000):
        self.iface = iface
        self.tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        self.tx.bind((iface, 0))
        self.rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.rx.bind((iface, ETH_P_ALL))
        # Promiscuous: frames synack sends to the made-up silent host are for another MAC.
        mreq = struct.pack("iHH8s", socket.if_nametoindex(iface), PACKET_MR_PROMISC, 0, b"\0" * 8)
        self.rx.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
        try:
            self.rx.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)  # SO_RCVBUFFORCE
        except OSError:
            pass
        self.rx.settimeout(0.05)
        self.mac = mac_b(synack_mac)
        self.cap = cap
        self.frames = []
        self.sent = 0
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                data, addr = self.rx.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if addr[2] == PACKET_OUTGOING or data[6:12] != self.mac or len(self.frames) >= self.cap:
                continue
            self.frames.append(data)

    def close(self):
        self.stop = True
        self.thread.join(1)
        self.rx.close()
        self.tx.close()

    def mark(self):
        return len(self.frames)

    def since(self, mark):
        return self.frames[mark:]

    def send(self, frames, burst=64, pause=0.002):
        for i, f in enumerate(frames):
            self.tx.send(f)
            self.sent += 1
            if (i + 1) % burst == 0:
                time.sleep(pause)

    def tcp_since(self, mark, dport=None, sport=None, dst=None):
        out = []
        for f in self.since(mark):
            p = parse_tcp(f)
            if p is None or (dport is not None and p[3] != dport) or (sport is not None and p[2] != sport):
                continue
            if dst is not None and p[1] != dst:
                continue
            out.append(p)
        return out


def tap_tx_dropped(iface):
    try:
        with open(f"/sys/class/net/{iface}/statistics/tx_dropped") as f:
            return int(f.read())
    except OSError:
        return -1


# ---------------------------------------------------------------------------------------------------- synack's side

class Synack:
    """What synack-echo shows from outside: its stats lines (conns, time_wait) and its mbufs in use."""

    def __init__(self, log, pid):
        self.log, self.pid = log, pid

    def alive(self):
        try:
            os.kill(self.pid, 0)
        except OSError:
            return False
        with open(f"/proc/{self.pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"

    def stats(self, offset=0):
        with open(self.log, "rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
        return [(int(m.group(1)), int(m.group(2)))
                for m in re.finditer(r"^\[synack\].* conns=(\d+) time_wait=(\d+)", text, re.M)]

    def offset(self):
        return os.path.getsize(self.log)

    def now(self):
        """conns, time_wait from a stats line printed after this call (stats every 100 ms)."""
        off = self.offset()
        for _ in range(30):
            time.sleep(0.05)
            s = self.stats(off)
            if s:
                return s[-1]
        s = self.stats()
        return s[-1] if s else (-1, -1)

    def wait(self, pred, timeout):
        deadline = time.time() + timeout
        while True:
            c = self.now()
            if pred(*c) or time.time() > deadline or not self.alive():
                return c


class Mbufs:
    """mbufs in use in synack's pools (main and bulk): size - (ring count + every lcore cache), read from
    /proc/PID/mem at the addresses DPDK telemetry gives (each pool's memzone and ring), with offsets from DPDK's
    own headers."""

    OFFSETS_C = r"""
#include <stddef.h>
#include <stdio.h>
#include <rte_mempool.h>
#include <rte_ring.h>
int main(void) {
    printf("%zu %zu %zu %zu %zu %zu %d\n", offsetof(struct rte_ring, mask), offsetof(struct rte_ring, prod.tail),
           offsetof(struct rte_ring, cons.tail), offsetof(struct rte_mempool, local_cache),
           sizeof(struct rte_mempool_cache), offsetof(struct rte_mempool_cache, len), RTE_MAX_LCORE);
    return 0;
}
"""

    def __init__(self, pid):
        self.pid = pid
        self.error = None
        try:
            self._setup()
        except Exception as e:  # noqa: BLE001  any failure just disables the measurement
            self.error = f"{type(e).__name__}: {e}"

    def _telemetry(self, cmds):
        import glob
        for path in glob.glob("/var/run/dpdk/*/dpdk_telemetry.v2*"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.settimeout(2)
            try:
                s.connect(path)
                hello = json.loads(s.recv(16384))
                if hello.get("pid") != self.pid:
                    continue
                out = []
                for c in cmds:
                    s.send(c.encode())
                    out.append(json.loads(s.recv(1 << 20)))
                return out
            except (OSError, ValueError):
                continue
            finally:
                s.close()
        raise RuntimeError(f"no DPDK telemetry socket for pid {self.pid}")

    def _setup(self):
        with tempfile.TemporaryDirectory() as d:
            src, exe = os.path.join(d, "off.c"), os.path.join(d, "off")
            with open(src, "w") as f:
                f.write(self.OFFSETS_C)
            cflags = subprocess.run(["pkg-config", "--cflags", "libdpdk"], capture_output=True, text=True,
                                    check=True).stdout.split()
            subprocess.run(["cc", *cflags, "-o", exe, src], capture_output=True, check=True, timeout=60)
            (self.o_mask, self.o_prod, self.o_cons, self.o_cache, self.cache_size, self.o_len,
             self.max_lcore) = map(int, subprocess.run([exe], capture_output=True, text=True).stdout.split())
        names = [n for n in self._telemetry(["/mempool/list"])[0]["/mempool/list"]
                 if n.startswith(("synack_mbuf", "synack_bulk"))]
        if sum(n.startswith("synack_mbuf") for n in names) != 1:
            raise RuntimeError(f"expected one synack_mbuf pool, got {names}")
        zones = self._telemetry(["/eal/memzone_list"])[0]
        zinfo = self._telemetry([f"/eal/memzone_info,{z}" for z in zones["/eal/memzone_list"]])
        self.pools = []  # (name, size, ring address, mempool address): the main pool and the bulk one
        for name in names:
            info = self._telemetry([f"/mempool/info,{name}"])[0]["/mempool/info"]
            size, ring = info["size"], info["pool_id"]  # ring_mp_mc: pool_data is the rte_ring
            mz = [z["/eal/memzone_info"] for z in zinfo if z["/eal/memzone_info"]["Name"] == info["mz_name"]]
            mask = self._u32(ring + self.o_mask)
            if mask + 1 < size or mask & (mask + 1):
                raise RuntimeError(f"pool {name} does not look like a ring mempool (mask {mask:#x})")
            self.pools.append((name, size, ring, int(mz[0]["Address"], 16)))

    def _read(self, addr, n):
        with open(f"/proc/{self.pid}/mem", "rb") as f:
            f.seek(addr)
            return f.read(n)

    def _u32(self, addr):
        return struct.unpack("<I", self._read(addr, 4))[0]

    def in_use(self):
        """mbufs out of every synack pool (main and bulk), summed."""
        if self.error:
            return None
        last = None
        for _ in range(20):  # two equal readings in a row: nothing moved in between
            v = sum(self._pool_in_use(*p) for p in self.pools)
            if v == last:
                return v
            last = v
            time.sleep(0.05)
        return last

    def _pool_in_use(self, _name, size, ring_addr, mp):
        mask = self._u32(ring_addr + self.o_mask)
        ring = (self._u32(ring_addr + self.o_prod) - self._u32(ring_addr + self.o_cons)) & mask
        caches = struct.unpack("<Q", self._read(mp + self.o_cache, 8))[0]
        blob = self._read(caches, self.cache_size * self.max_lcore)
        cached = sum(struct.unpack_from("<I", blob, i * self.cache_size + self.o_len)[0] for i in range(self.max_lcore))
        return size - ring - cached


# ---------------------------------------------------------------------------------------------------- the test

class Hostile:
    def __init__(self, a):
        self.a = a
        self.host, self.net = a.host, a.host.rsplit(".", 1)[0]
        self.peer = self.net + ".2"                      # the tap's kernel side
        with open(f"/sys/class/net/{a.iface}/address") as f:
            self.peer_mac = f.read().strip()
        self.silent, self.silent_mac = self.net + ".3", "02:00:00:00:79:33"  # made up: answers nothing
        self.other_mac = "02:00:00:00:79:99"             # a unicast MAC nobody has
        self.mac = a.mac
        self.cores = a.cores
        self.link = Link(a.iface, a.mac)
        self.sy = Synack(a.log, a.pid)
        self.expect = []                                  # (counter, "eq"|"ge", value)
        self.rng = random.Random(1337)
        self.sport = 40000
        self.mbufs = None
        self.baseline = None

    def next_sport(self):
        self.sport += 1
        return self.sport

    def want(self, counter, op, value):
        self.expect.append((counter, op, value))

    def peer_tcp(self, dport, flags, seq=None, ack=0, payload=b"", sport=None, **kw):
        sport = self.next_sport() if sport is None else sport
        seq = self.rng.getrandbits(32) if seq is None else seq
        return eth(self.mac, self.peer_mac, 0x0800,
                   ipv4(self.peer, self.host, 6, tcp(self.peer, self.host, sport, dport, seq, ack, flags,
                                                    payload=payload, **kw))), sport, seq

    def alive(self, what):
        return check(self.sy.alive(), f"synack still running after {what}")

    def quiet(self, mark, what):
        """No frame from synack since mark (ARP requests/replies to the kernel side allowed)."""
        time.sleep(0.4)
        bad = []
        for f in self.link.since(mark):
            if f[12:14] == b"\x08\x06" and f[0:6] == mac_b(self.peer_mac):
                continue  # ARP with the kernel side (its neighbour refresh)
            if f[12:14] == b"\x08\x06" and f[0:6] == b"\xff" * 6 and f[21] == 1:
                continue  # synack's own ARP requests (announcements, resolution)
            bad.append(f)
        desc = "; ".join(Ether(f).summary() for f in bad[:3])
        return check(not bad, f"{what}: no answer from synack ({len(bad)} frames{': ' + desc if bad else ''})")

    def stable_in_use(self):
        return self.mbufs.in_use() if self.mbufs else None

    # ---------------------------------------------------------------- Ethernet, ARP, IPv4, ICMP junk

    def phase_l2l3(self):
        print("-- frames not for us, broadcast junk, ARP for other hosts, truncated and corrupt IPv4", flush=True)
        drop0 = tap_tx_dropped(self.a.iface)
        frames = []
        syn = lambda: tcp(self.peer, self.host, self.next_sport(), 7, self.rng.getrandbits(32), 0, SYN)  # noqa
        good_ip = lambda: ipv4(self.peer, self.host, 6, syn())  # noqa: E731

        n = 20  # valid SYNs to the listening port, to another unicast MAC and to a multicast MAC
        frames += [eth(self.other_mac, self.peer_mac, 0x0800, good_ip()) for _ in range(n)]
        frames += [eth("01:00:5e:00:00:fb", self.peer_mac, 0x0800, good_ip()) for _ in range(5)]
        frames += [eth("33:33:00:00:00:01", self.peer_mac, 0x86DD, os.urandom(60)) for _ in range(5)]
        self.want("net.rx_not_for_us", "ge", n + 10)

        junk = 0  # broadcast junk with random ethertypes (neither IPv4, ARP nor IPv6), then unicast junk
        for i in range(40):
            et = self.rng.choice([0x0000, 0x0600, 0x86DD, 0x8100, 0x88CC, 0x8847, 0x9000, 0xFFFF,
                                  self.rng.randrange(0x0601, 0xFFFF)])
            if et in (0x0800, 0x0806, 0x86DD):
                et = 0x88B5
            frames.append(eth("ff:ff:ff:ff:ff:ff", self.peer_mac, et, os.urandom(self.rng.randrange(0, 200))))
            junk += 1
        frames.append(raw(Ether(dst=self.mac, src=self.peer_mac) / Dot1Q(vlan=5) / IP(src=self.peer, dst=self.host)
                          / TCP(dport=7, flags="S")))
        junk += 1
        self.want("net.rx_unknown_ethertype", "eq", junk)
        frames.append(eth(self.mac, self.peer_mac, 0x86DD, os.urandom(80)))  # IPv6 with no --ip6: counted as such
        self.want("net.rx_ip6_no_ipv6", "ge", 1)

        bad_src = [eth(self.mac, "01:00:5e:00:00:05", 0x0800, good_ip()) for _ in range(5)]
        bad_src += [eth(self.mac, "ff:ff:ff:ff:ff:ff", 0x0800, good_ip()) for _ in range(5)]
        frames += bad_src
        self.want("net.rx_bad_src_mac", "eq", len(bad_src))

        # ARP for other hosts: requests (broadcast) and replies, from a host synack does not know.
        asker, asker_mac = self.net + ".4", "02:00:00:00:79:44"
        arp_other = [raw(Ether(dst="ff:ff:ff:ff:ff:ff", src=asker_mac) /
                         ARP(op=1, hwsrc=asker_mac, psrc=asker, pdst=f"{self.net}.{x}"))
                     for x in list(range(5, 30)) + [2, 255, 0]]
        arp_other += [raw(Ether(dst="ff:ff:ff:ff:ff:ff", src=asker_mac) /
                          ARP(op=2, hwsrc=asker_mac, psrc=asker, pdst=f"{self.net}.{x}")) for x in (2, 3, 9)]
        arp_other.append(raw(Ether(dst="ff:ff:ff:ff:ff:ff", src=asker_mac) /
                             ARP(op=1, hwsrc=asker_mac, psrc=asker, pdst=asker)))  # gratuitous
        frames += arp_other
        self.want("net.rx_arp_not_for_us", "eq", len(arp_other) * self.cores)  # ARP goes to every core
        # Malformed ARP addressed to us: wrong sizes or opcode, group or zero sender MAC, loopback sender IP.
        base = dict(hwsrc=asker_mac, psrc=asker, pdst=self.host)
        good_arp = raw(Ether(dst="ff:ff:ff:ff:ff:ff", src=asker_mac) / ARP(op=1, **base))

        def arp_patched(off, val):  # ARP at 14: hrd 14-15, pro 16-17, hln 18, pln 19, op 20-21
            b = bytearray(good_arp)
            b[off:off + len(val)] = val
            return bytes(b)
        arp_bad = [arp_patched(18, b"\x08"), arp_patched(19, b"\x10"), arp_patched(20, b"\x00\x09"),
                   arp_patched(14, b"\x00\x06"), arp_patched(16, b"\x86\xdd"), arp_patched(20, b"\x00\x00")]
        arp_bad += [raw(Ether(dst="ff:ff:ff:ff:ff:ff", src=asker_mac) / p) for p in (
            ARP(op=1, hwsrc="01:00:5e:00:00:01", psrc=asker, pdst=self.host),
            ARP(op=1, hwsrc="00:00:00:00:00:00", psrc=asker, pdst=self.host),
            ARP(op=1, hwsrc=asker_mac, psrc="127.0.0.1", pdst=self.host),
            ARP(op=1, hwsrc=asker_mac, psrc="224.0.0.1", pdst=self.host))]
        frames += arp_bad
        self.want("net.rx_arp_bad", "eq", len(arp_bad) * self.cores)
        conflict = [raw(Ether(dst="ff:ff:ff:ff:ff:ff", src=asker_mac) /
                        ARP(op=2, hwsrc=asker_mac, psrc=self.host, pdst=self.host)) for _ in range(2)]
        frames += conflict
        self.want("net.rx_arp_conflict", "eq", len(conflict) * self.cores)

        # Truncated: ARP and IPv4 ethertypes with less than their header (a frame is at least 14 bytes here: the
        # kernel pads or refuses shorter ones, so a cut Ethernet header cannot be sent through a tap).
        trunc = [eth(self.mac, self.peer_mac, 0x0800, good_ip()[:k]) for k in range(0, 20)]
        trunc_arp = [eth("ff:ff:ff:ff:ff:ff", self.peer_mac, 0x0806, os.urandom(k)) for k in (0, 8, 27)]
        frames += trunc + trunc_arp
        self.want("net.rx_truncated", "eq", len(trunc) + len(trunc_arp) * self.cores)
        self.want("net.rx_headers_split", "eq", 0)

        def patched(b, off, val):
            b = bytearray(b)
            b[off] = val
            return bytes(b)
        frames += [eth(self.mac, self.peer_mac, 0x0800, patched(good_ip(), 0, v)) for v in (0x65, 0x05, 0xF5)]
        self.want("net.rx_ip_bad_version", "eq", 3)
        frames += [eth(self.mac, self.peer_mac, 0x0800, patched(good_ip(), 0, v)) for v in (0x40, 0x41, 0x44)]
        self.want("net.rx_ip_bad_header_len", "eq", 3)

        opts = [b"\x01\x01\x01\x00", b"\x94\x04\x00\x00", b"\x07\x07\x04" + b"\0" * 5, b"\x44\x0c\x05\x00" + b"\0" * 8]
        ipo = [eth(self.mac, self.peer_mac, 0x0800, ipv4(self.peer, self.host, 6, syn(), options=o)) for o in opts]
        ipo.append(raw(Ether(dst=self.mac, src=self.peer_mac) /
                       IP(src=self.peer, dst=self.host, options=[IPOption(b"\x82\x0b" + b"\0" * 9)]) /
                       TCP(sport=self.next_sport(), dport=7, flags="S")))
        ipo.append(eth(self.mac, self.peer_mac, 0x0800, ipv4(self.peer, self.host, 6, syn(), ihl=15)))  # beyond
        frames += ipo
        self.want("net.rx_ip_options", "eq", len(ipo))

        tl = [eth(self.mac, self.peer_mac, 0x0800, ipv4(self.peer, self.host, 6, syn(), total=t))
              for t in (0, 19, 41, 1000, 65535)]
        frames += tl
        self.want("net.rx_ip_bad_total_len", "eq", len(tl))

        bc = [eth(self.mac, self.peer_mac, 0x0800, ipv4(self.peer, self.host, 6, syn(), bad_csum=True))
              for _ in range(10)]
        frames += bc
        self.want("net.rx_ip_bad_checksum", "eq", len(bc))

        nfu = [eth(self.mac, self.peer_mac, 0x0800, ipv4(self.peer, d, 6, syn()))
               for d in (self.net + ".99", self.net + ".255", self.net + ".0", "255.255.255.255", self.peer)]
        nfu += [eth("ff:ff:ff:ff:ff:ff", self.peer_mac, 0x0800, ipv4(self.peer, d, 6, syn()))
                for d in (self.net + ".255", "255.255.255.255")]
        frames += nfu
        self.want("net.rx_ip_not_for_us", "eq", len(nfu))

        fr = [eth(self.mac, self.peer_mac, 0x0800, ipv4(self.peer, self.host, 6, syn(), frag=f))
              for f in (0x2000, 0x6000, 0x000D, 0x400D, 0x2001, 0x1FFF, 0x3FFF)]
        frames += fr
        self.want("net.rx_ip_fragment", "eq", len(fr))

        srcs = ["0.0.0.0", "255.255.255.255", "127.0.0.1", "224.0.0.5", "240.0.0.1", self.net + ".255"]
        bs = [eth(self.mac, self.peer_mac, 0x0800,
                  ipv4(s, self.host, 6, tcp(s, self.host, self.next_sport(), 7, 1, 0, SYN))) for s in srcs]
        frames += bs
        self.want("net.rx_ip_bad_src", "eq", len(bs))

        up = [raw(Ether(dst=self.mac, src=self.peer_mac) / IP(src=self.peer, dst=self.host) / UDP(dport=7) /
                  Raw(b"x" * 10))]
        up += [eth(self.mac, self.peer_mac, 0x0800, ipv4(self.peer, self.host, p, os.urandom(30))) for p in
               (0, 2, 17, 47, 58, 132, 255)]
        frames += up
        self.want("net.rx_ip_unknown_proto", "eq", len(up))

        icmp_bad = [eth(self.mac, self.peer_mac, 0x0800, ipv4(self.peer, self.host, 1, b"\x08\x00\xf7\xff")),
                    eth(self.mac, self.peer_mac, 0x0800, ipv4(self.peer, self.host, 1, b"")),
                    raw(Ether(dst=self.mac, src=self.peer_mac) / IP(src=self.peer, dst=self.host) /
                        ICMP(type=8, chksum=0x1234) / Raw(b"y" * 40))]
        icmp_unh = [raw(Ether(dst=self.mac, src=self.peer_mac) / IP(src=self.peer, dst=self.host) / ICMP(type=t))
                    for t in (0, 3, 5, 13, 17)]
        frames += icmp_bad + icmp_unh
        self.want("net.rx_icmp_bad", "eq", len(icmp_bad))
        self.want("net.rx_icmp_unhandled", "eq", len(icmp_unh))

        self.rng.shuffle(frames)
        mark = self.link.mark()
        self.link.send(frames, burst=32, pause=0.003)
        print(f"   sent {len(frames)} frames", flush=True)
        self.quiet(mark, f"{len(frames)} junk, foreign or corrupt frames (valid SYNs among them to other MACs, "
                         "with IP options, fragments, bad checksums, bad sources)")
        self.alive("Ethernet/ARP/IPv4 junk")
        drops = tap_tx_dropped(self.a.iface) - drop0
        check(drops == 0, f"the tap passed every frame to synack (kernel tx_dropped +{drops})")

    # ---------------------------------------------------------------- TCP header junk

    def phase_tcp_junk(self):
        print("-- corrupt TCP headers (checksum, data offset, option lengths, truncated)", flush=True)
        frames = []
        for port in (7, 9):
            frames += [self.peer_tcp(port, SYN, bad_csum=True)[0] for _ in range(5)]
        self.want("tcp.rx_parse.bad_tcp_checksum", "eq", 10)
        # Truncated TCP: the IPv4 total length tells the truth, the TCP header is shorter than 20 bytes.
        tr = []
        for k in (0, 1, 8, 13, 19):
            t = tcp(self.peer, self.host, self.next_sport(), 7, 5, 0, SYN)[:k]
            tr.append(eth(self.mac, self.peer_mac, 0x0800, ipv4(self.peer, self.host, 6, t)))
        frames += tr
        self.want("tcp.rx_parse.bad_ip_total_len", "eq", len(tr))
        doffs = []
        for port in (7, 9):
            doffs += [self.peer_tcp(port, SYN, doff=d)[0] for d in (0, 1, 4)]
            doffs.append(self.peer_tcp(port, SYN, doff=15)[0])                     # beyond the segment
            doffs.append(self.peer_tcp(port, SYN, doff=15, payload=b"z" * 20)[0])  # beyond it too (20 + 20 < 60)
        frames += doffs
        self.want("tcp.rx_parse.bad_tcp_header_len", "eq", len(doffs))
        bad_opts = [b"\x02\x00\x00\x00", b"\x02\x01\x00\x00", b"\x08\x28" + b"\0" * 10, b"\x01\x01\x01\x03",
                    b"\xfe\xff\x00\x00", b"\x03\x04\x05\x00\x04", b"\x01\x01\x05\x0b" + b"\0" * 4]
        bad_opts = [o + b"\0" * (-len(o) % 4) for o in bad_opts]
        bo = [self.peer_tcp(port, SYN, opts=o)[0] for port in (7, 9) for o in bad_opts]
        frames += bo
        self.want("tcp.rx_parse.bad_tcp_options", "eq", len(bo))
        self.want("tcp.rx_parse.truncated", "eq", 0)
        mark = self.link.mark()
        self.link.send(frames)
        print(f"   sent {len(frames)} segments", flush=True)
        self.quiet(mark, f"{len(frames)} TCP segments with bad checksum, data offset or option lengths")

        # Odd but legal options: unknown kinds, MSS with a wrong length, window scale 200, MSS 0, EOL first. A SYN
        # to a closed port must still be answered with RST,ACK.
        odd = [b"\x02\x03\x05\x00", b"\x03\x03\xc8\x00", b"\x02\x04\x00\x00", b"\x00\x02\x00\x00",
               b"\xfd\x06abcd\x01\x01", b"\x05\x02\x01\x01", b"\x04\x02\x08\x0a" + b"\0" * 8]
        sent = {}
        frames = []
        for o in odd:
            f, sport, seq = self.peer_tcp(9, SYN, opts=o)
            frames.append(f)
            sent[sport] = seq
        mark = self.link.mark()
        self.link.send(frames)
        time.sleep(0.4)
        got = {p[3]: p for p in self.link.tcp_since(mark, sport=9)}
        good = sum(1 for sp, seq in sent.items()
                   if sp in got and got[sp][6] == RST | ACK and got[sp][5] == (seq + 1) & 0xFFFFFFFF)
        self.want("tcp.rx_no_connection", "ge", len(odd))
        check(good == len(odd), f"SYNs with odd but well-formed options to a closed port answered RST,ACK "
                                f"({good}/{len(odd)})")
        self.alive("TCP header junk")

    # ---------------------------------------------------------------- flag combinations

    def phase_flags(self):
        print("-- odd flag combinations to the listening port 7 and the closed port 9 (RFC 9293 §3.10.7.1-2)",
              flush=True)
        D = b"0123456789"
        # (port, flags, payload, expectation); expectation: None (silence), ("RA", ack delta) = <SEQ=0>
        # <ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, ("R",) = <SEQ=SEG.ACK><CTL=RST>, ("SA",) = SYN,ACK acking the SYN only.
        cases = [
            (9, SYN, b"", ("RA", 1)), (9, SYN | FIN, b"", ("RA", 2)), (9, SYN | RST, b"", None),
            (9, SYN | ACK, b"", ("R",)), (9, FIN, b"", ("RA", 1)), (9, 0, b"", ("RA", 0)),
            (9, FIN | PSH | URG, b"", ("RA", 1)), (9, RST, b"", None), (9, RST | ACK, b"", None),
            (9, ACK, b"", ("R",)), (9, ACK | PSH, D, ("R",)), (9, PSH, D, ("RA", 10)), (9, FIN | ACK, b"", ("R",)),
            (9, 0x3F, b"", None), (9, SYN, D, ("RA", 11)), (9, SYN | ECE | CWR, b"", ("RA", 1)),
            (9, SYN | FIN | PSH | URG, D, ("RA", 12)), (9, 0xFF & ~RST & ~ACK, b"", ("RA", 2)),
            (7, RST, b"", None), (7, RST | ACK, b"", None), (7, SYN | RST, b"", None),
            (7, SYN | RST | ACK, b"", None), (7, 0x3F, b"", None),
            (7, ACK, b"", ("R",)), (7, SYN | ACK, b"", ("R",)), (7, FIN | ACK, b"", ("R",)),
            (7, ACK | PSH, D, ("R",)), (7, ACK | URG, b"", ("R",)),
            (7, FIN, b"", None), (7, 0, b"", None), (7, FIN | PSH | URG, b"", None), (7, PSH, D, None),
            (7, URG, b"", None),
            (7, SYN, b"", ("SA",)), (7, SYN, D, ("SA",)), (7, SYN | PSH, b"", ("SA",)),
            (7, SYN | URG, b"", ("SA",)), (7, SYN | ECE | CWR, b"", ("SA",)), (7, SYN | FIN, b"", ("SA", "opt")),
        ]
        frames, sent = [], []
        for port, flags, payload, exp in cases:
            ack = self.rng.getrandbits(32)
            f, sport, seq = self.peer_tcp(port, flags, ack=ack, payload=payload)
            frames.append(f)
            sent.append((port, flags, payload, exp, sport, seq, ack))
        mark = self.link.mark()
        self.link.send(frames)
        time.sleep(0.6)
        replies = {}
        for p in self.link.tcp_since(mark, dst=self.peer):
            replies.setdefault(p[3], p)  # the first answer per source port
        bad = []
        for port, flags, payload, exp, sport, seq, ack in sent:
            r = replies.get(sport)
            what = f"{flag_str(flags)}{'+data' if payload else ''} to {port}"
            got = "nothing" if r is None else f"{flag_str(r[6])} seq={r[4]} ack={r[5]}"
            if exp is None:
                good = r is None
                want = "nothing"
            elif exp[0] == "RA":
                want_ack = (seq + exp[1]) & 0xFFFFFFFF
                good = r is not None and r[6] == RST | ACK and r[4] == 0 and r[5] == want_ack
                want = f"RST,ACK seq=0 ack={want_ack}"
            elif exp[0] == "R":
                good = r is not None and r[6] == RST and r[4] == ack
                want = f"RST seq={ack}"
            else:
                want_ack = (seq + 1) & 0xFFFFFFFF
                good = r is not None and r[6] == SYN | ACK and r[5] == want_ack
                want = f"SYN,ACK ack={want_ack}"
                if len(exp) > 1 and r is None:
                    good = True  # Linux drops SYN+FIN in LISTEN; RFC 9293 processes the SYN: either is fine
                    note("SYN+FIN to a listener was dropped")
                elif len(exp) > 1:
                    note("SYN+FIN to a listener is answered with SYN,ACK acking the SYN only (RFC 9293 allows "
                         "this; Linux drops SYN+FIN in LISTEN)")
            if r is not None and not (r[0] == self.host and r[2] == port):
                good = False
            if not good:
                bad.append(f"{what}: got {got}, want {want}")
        self.want("tcp.rx_no_connection", "ge", sum(1 for c in cases if c[3] and c[3][0] in ("R", "RA")))
        self.want("tcp.rx_rst_no_connection", "eq", sum(1 for c in cases if c[0] == 9 and c[1] & RST))
        self.want("tcp.rx_listen_dropped", "ge", sum(1 for c in cases if c[0] == 7 and c[3] is None))
        check(not bad, f"{len(cases)} flag combinations answered per RFC 9293 §3.10.7.1 (CLOSED) / §3.10.7.2 "
                       f"(LISTEN){': ' + '; '.join(bad) if bad else ''}")
        c, tw = self.sy.wait(lambda c, tw: c == 0, 3)
        check(c == 0, f"half-open connections from SYNs above removed by the kernel's RSTs (conns={c})")
        self.alive("odd flag combinations")

    # ---------------------------------------------------------------- blind RSTs and SYNs (RFC 5961)

    def live_conn(self):
        s = socket.create_connection((self.host, 7), timeout=5)
        lport = s.getsockname()[1]
        mark = self.link.mark()
        s.sendall(b"hello")
        got = b""
        while len(got) < 5:
            got += s.recv(5 - len(got))
        time.sleep(0.3)
        return s, lport, mark

    def seqs(self, lport, mark):
        """synack's RCV.NXT, SND.MAX and receive window on the connection to the Linux port lport, from what it
        sent."""
        ps = self.link.tcp_since(mark, dport=lport, dst=self.peer)
        rcv_nxt, wnd = ps[-1][5], ps[-1][10]
        snd_max = max((p[4] + p[7] + (1 if p[6] & (SYN | FIN) else 0)) & 0xFFFFFFFF for p in ps)
        return rcv_nxt, snd_max, wnd

    def probe(self, lport, flags, seq, ack=0, payload=b"", wait=0.3, dport=7):
        mark = self.link.mark()
        self.link.send([self.peer_tcp(dport, flags, seq=seq & 0xFFFFFFFF, ack=ack & 0xFFFFFFFF, sport=lport,
                                      payload=payload)[0]])
        time.sleep(wait)
        return self.link.tcp_since(mark, dport=lport, dst=self.peer)

    def phase_rst(self):
        print("-- blind RST/SYN/ACK/data against a live Linux connection (RFC 5961)", flush=True)
        s, lport, mark = self.live_conn()
        rcv_nxt, snd_max, wnd = self.seqs(lport, mark)
        print(f"   connection from Linux port {lport}: synack RCV.NXT={rcv_nxt} SND.MAX={snd_max} RCV.WND={wnd}",
              flush=True)

        def is_ack(p):
            return p[6] == ACK and p[4] == snd_max and p[5] == rcv_nxt

        for label, seq in (("far right of the window", rcv_nxt + 0x40000000), ("left of the window",
                                                                                 rcv_nxt - 100000)):
            r = self.probe(lport, RST, seq)
            check(not r, f"RST {label} dropped silently ({len(r)} answers)")
        self.want("tcp.rx_rst_out_of_window", "ge", 2)
        for label, flags, seq, ack in (("RST at RCV.NXT+1", RST, rcv_nxt + 1, 0),
                                       ("RST,ACK at RCV.NXT+1000", RST | ACK, rcv_nxt + 1000, snd_max),
                                       ("RST at the last byte of the window", RST, rcv_nxt + wnd - 1, 0)):
            r = self.probe(lport, flags, seq, ack)
            check(len(r) == 1 and is_ack(r[0]), f"{label} (in window, not exact): one challenge ACK "
                  f"<SEQ={snd_max}><ACK={rcv_nxt}> (RFC 5961 §3.2), got "
                  f"{[(flag_str(p[6]), p[4], p[5]) for p in r]}")
        self.want("tcp.rx_rst_challenged", "ge", 3)
        r = self.probe(lport, SYN, rcv_nxt + 10)
        check(len(r) == 1 and is_ack(r[0]), f"SYN in window on ESTABLISHED: challenge ACK (RFC 5961 §4.2), got "
              f"{[(flag_str(p[6]), p[4], p[5]) for p in r]}")
        self.want("tcp.rx_syn_challenged", "ge", 1)
        r = self.probe(lport, ACK, rcv_nxt, snd_max + 100000)
        check(len(r) == 1 and is_ack(r[0]), f"ACK of data never sent: dropped and answered with an ACK "
              f"(RFC 9293 §3.10.7.4 / RFC 5961 §5.2), got {[(flag_str(p[6]), p[4], p[5]) for p in r]}")
        self.want("tcp.rx_ack_too_new", "ge", 1)
        r = self.probe(lport, ACK | PSH, rcv_nxt + 1000000, snd_max, payload=b"INJECTED")
        check(len(r) == 1 and is_ack(r[0]), f"data outside the window: not accepted, answered with an ACK, got "
              f"{[(flag_str(p[6]), p[4], p[5], p[7]) for p in r]}")
        self.want("tcp.rx_unacceptable", "ge", 1)
        # RFC 5961 §7: challenge ACKs SHOULD be rate-limited.
        mark2 = self.link.mark()
        self.link.send([self.peer_tcp(7, RST, seq=(rcv_nxt + 2 + i) & 0xFFFFFFFF, sport=lport)[0]
                        for i in range(100)])
        time.sleep(0.4)
        n = len(self.link.tcp_since(mark2, dport=lport, dst=self.peer))
        self.want("tcp.rx_rst_challenged", "ge", 100)
        if n > 10:
            note(f"100 in-window RSTs drew {n} challenge ACKs: no challenge ACK limit (RFC 5961 §7 SHOULD; Linux "
                 "allows 1000/s per host by default, tcp_challenge_ack_limit)")
        try:
            s.sendall(b"after")
            got = b""
            while len(got) < 5:
                b = s.recv(5 - len(got))
                if not b:
                    break
                got += b
            check(got == b"after", f"the connection survived blind RSTs, SYNs and ACKs: echo {got!r}")
            data = os.urandom(200000)
            s.settimeout(10)
            sender = threading.Thread(target=s.sendall, args=(data,))
            sender.start()
            back = b""
            while len(back) < len(data):
                b = s.recv(65536)
                if not b:
                    break
                back += b
            sender.join(10)
            check(back == data, f"and its stream is intact: 200000 bytes echoed, equal={back == data}")
            s.shutdown(socket.SHUT_WR)
            check(s.recv(10) == b"", "and it closes normally (synack's FIN after ours)")
        except OSError as e:
            fail(f"the live connection did not survive blind RSTs/SYNs/ACKs: {e!r}")
        s.close()

        # An RST exactly at RCV.NXT resets (the one case RFC 5961 lets through).
        self.sy.wait(lambda c, tw: c == 0, 3)
        s2, lport2, mark = self.live_conn()
        rcv_nxt2, _, _ = self.seqs(lport2, mark)
        c0, _ = self.sy.now()
        r = self.probe(lport2, RST, rcv_nxt2)
        c1, _ = self.sy.now()
        check(not r and c1 == 0, f"RST exactly at RCV.NXT: connection reset silently (conns {c0} -> {c1}, "
                                 f"{len(r)} answers)")
        self.want("tcp.rx_rst_accepted", "ge", 1)
        try:
            s2.sendall(b"more")
            s2.settimeout(3)
            b = s2.recv(10)
            fail(f"after the reset synack still answered on that connection: {b!r}")
        except (ConnectionResetError, BrokenPipeError):
            ok("Linux's next segment on the reset connection drew a RST (ECONNRESET)")
        except OSError as e:
            fail(f"after the reset: {e!r}, expected ECONNRESET")
        s2.close()
        self.alive("blind RSTs")

    # ---------------------------------------------------------------- oddities worth a note

    def phase_notes(self):
        print("-- link-layer broadcast carrying our unicast IP; LAND (source = our own address)", flush=True)
        f, sport, seq = self.peer_tcp(7, SYN)
        f = b"\xff" * 6 + f[6:]
        mark = self.link.mark()
        self.link.send([f])
        time.sleep(0.3)
        r = self.link.tcp_since(mark, dport=sport, dst=self.peer)
        check(not r, "a SYN for our unicast IP in a link-layer broadcast frame is dropped (RFC 1122 §3.3.6), "
                     f"{len(r)} replies")
        self.want("net.rx_ip_not_for_us", "eq", 1)
        self.sy.wait(lambda c, tw: c == 0, 2)
        # LAND: SYN from our own address and port to ourselves.
        c0, _ = self.sy.now()
        seq = self.rng.getrandbits(32)
        land = eth(self.mac, self.peer_mac, 0x0800, ipv4(self.host, self.host, 6, tcp(self.host, self.host, 7, 7,
                                                                                       seq, 0, SYN)))
        mark = self.link.mark()
        self.link.send([land])
        c1, _ = self.sy.now()
        r = self.link.tcp_since(mark)
        self.alive("a LAND SYN")
        check(c1 <= c0, f"a SYN from our own address (LAND) is dropped (conns {c0} -> {c1})")
        self.want("net.rx_ip_bad_src", "eq", 1)
        check(not r, f"nothing sent on the wire for the LAND SYN ({len(r)} frames)")

    # ---------------------------------------------------------------- SYN floods

    def phase_flood_kernel(self, count=2000):
        backlog = BACKLOG * self.cores  # one listener per core
        print(f"-- SYN flood: {count} SYNs to port 7 from random ports of the kernel side ({self.peer})", flush=True)
        off = self.sy.offset()
        frames = [self.peer_tcp(7, SYN, sport=20000 + i)[0] for i in range(count)]
        t0 = time.time()
        self.link.send(frames, burst=100, pause=0.004)
        dt = time.time() - t0
        time.sleep(0.5)
        peak = max([c for c, _ in self.sy.stats(off)] + [0])
        check(peak <= backlog, f"{count} SYNs in {dt:.2f} s: at most {peak} connections at once (backlog {backlog})")
        self.alive("a SYN flood")
        c, tw = self.sy.wait(lambda c, tw: c == 0, 5)
        check(c == 0, f"every flood half-open connection gone once the kernel answered its SYN,ACK with RST "
                      f"(conns={c})")
        self.echo_works("after the SYN flood")

    def echo_works(self, when, port=7):
        try:
            data = os.urandom(1000000)
            got = echo_once(self.host, port, data, timeout=20)
            good = got == data
            for i in range(20):
                m = f"seq {i}".encode()
                good = good and echo_once(self.host, port, m, timeout=5) == m
            return check(good, f"{when}: 1 MB echo and 20 short connections still served on port {port}")
        except OSError as e:
            return fail(f"{when}: echo on port {port} failed: {e!r}")

    def phase_flood_silent(self, count=None):
        backlog = BACKLOG * self.cores  # one listener per core; SYNs spread over the cores by their flow hash
        count = count or backlog + 976
        print(f"-- SYN flood from a host that never answers ({self.silent}): {count} SYNs to port 8", flush=True)
        self.teach_silent()  # nothing resets these half-open connections
        sent = []
        frames = []
        for i in range(count):
            seq = self.rng.getrandbits(32)
            frames.append(eth(self.mac, self.silent_mac, 0x0800,
                              ipv4(self.silent, self.host, 6, tcp(self.silent, self.host, 20000 + i, 8, seq, 0, SYN))))
            sent.append((20000 + i, seq))
        off = self.sy.offset()
        self.link.send(frames, burst=100, pause=0.004)
        c, _ = self.sy.wait(lambda c, tw: c >= backlog, 3)
        time.sleep(0.3)
        c, _ = self.sy.now()
        peak = max([x for x, _ in self.sy.stats(off)] + [0])
        check(c == backlog and peak == backlog, f"half-open connections bounded by the listener's backlog: "
              f"conns={c} (peak {peak}, backlog {backlog})")
        # Past the backlog each SYN got a SYN cookie and no TCB (RFC 4987 §3.6, --syncookies 1 by default).
        self.want("tcp.syn_cookies_sent", "ge", count - backlog)
        self.alive("a SYN flood from a silent host")
        self.echo_works("while port 8's backlog is full of half-open connections")
        try:
            socket.create_connection((self.host, 8), timeout=1.5).close()
            ok("port 8 still accepts a new connection while its backlog is full (through a SYN cookie)")
        except OSError as e:
            fail(f"port 8 takes no new connection while its backlog is full of half-open connections ({e!r})")
        if self.a.long:
            print("   waiting for SYN-RECEIVED to time out (up to 200 s)", flush=True)
            t0 = time.time()
            c, _ = self.sy.wait(lambda c, tw: c == 0, 200)
            check(c == 0, f"half-open connections expired after {time.time() - t0:.0f} s (conns={c})")
        else:
            print("skip: waiting for SYN-RECEIVED to time out (~183 s: initial RTO 1 s, 7 SYN,ACK retransmissions, "
                  "60 s RTO cap); set HOSTILE_LONG=1 to wait for it", flush=True)
            self.link.send([eth(self.mac, self.silent_mac, 0x0800,
                                ipv4(self.silent, self.host, 6, tcp(self.silent, self.host, sp, 8, seq + 1, 0, RST)))
                            for sp, seq in sent], burst=100, pause=0.004)
            c, _ = self.sy.wait(lambda c, tw: c == 0, 5)
            check(c == 0, f"an RST at RCV.NXT removes each half-open connection (conns={c})")
            self.want("tcp.rx_listen_dropped", "ge", count - backlog)  # no TCB, but a listener: LISTEN drops RSTs
        self.alive("the silent SYN flood")

    # ---------------------------------------------------------------- out-of-order abuse from a scripted peer

    def teach_silent(self):
        """An ARP request from the silent host to synack: synack learns its (made-up) MAC and sends there, where the
        kernel drops everything (no RST ever comes back)."""
        self.link.send([raw(Ether(dst="ff:ff:ff:ff:ff:ff", src=self.silent_mac) /
                            ARP(op=1, hwsrc=self.silent_mac, psrc=self.silent, pdst=self.host))])
        time.sleep(0.1)

    def handshake(self, sport):
        self.teach_silent()
        iss = self.rng.getrandbits(32)
        mark = self.link.mark()
        self.link.send([eth(self.mac, self.silent_mac, 0x0800, ipv4(self.silent, self.host, 6, tcp(
            self.silent, self.host, sport, 7, iss, 0, SYN, opts=b"\x02\x04\x05\xb4")))])
        for _ in range(20):
            time.sleep(0.05)
            r = [p for p in self.link.tcp_since(mark, dport=sport, dst=self.silent) if p[6] == SYN | ACK]
            if r:
                break
        else:
            return None
        irs = r[0][4]
        return iss + 1, irs + 1

    def seg(self, sport, seq, ack, flags=ACK, payload=b"", win=65535):
        return eth(self.mac, self.silent_mac, 0x0800, ipv4(self.silent, self.host, 6, tcp(
            self.silent, self.host, sport, 7, seq, ack, flags, win=win, payload=payload)))

    @staticmethod
    def pattern(seq, n):
        """The byte at sequence number x is always (7x + 1) mod 251, whichever segment carries it."""
        return bytes((((seq + i) & 0xFFFFFFFF) * 7 + 1) % 251 for i in range(n))

    def phase_ooo(self):
        print(f"-- out-of-order abuse from a scripted peer ({self.silent}, never ACKs what synack sends)", flush=True)
        sport = 31000
        hs = self.handshake(sport)
        if not check(hs is not None, "scripted handshake with synack"):
            return
        base, ack = hs
        data = lambda seq, n: self.seg(sport, seq, ack, payload=self.pattern(seq, n))  # noqa: E731
        fin = lambda seq, n: self.seg(sport, seq, ack, ACK | FIN, payload=self.pattern(seq, n))  # noqa: E731
        mark0 = self.link.mark()
        self.link.send([self.seg(sport, base, ack)])  # third ACK: ESTABLISHED
        time.sleep(0.1)
        before = self.stable_in_use()
        # 2000 adjacent one-byte segments after a one-byte hole: all held for reassembly.
        n = 2000
        self.link.send([data(base + 1 + i, 1) for i in range(n)], burst=100, pause=0.004)
        time.sleep(0.3)
        after = self.stable_in_use()
        self.alive("2000 out-of-order one-byte segments")
        if before is not None and after is not None:
            per = (after - before) / n
            msg = (f"{n} one-byte out-of-order segments hold {after - before} mbufs ({per:.2f} per byte, "
                   f"{(after - before) * 2304 / 1e6:.1f} MB)")
            if per > 0.5:
                note(msg + ": each byte keeps its whole 2 KB receive mbuf, so one peer's 64 KB window of one-byte "
                     "segments (in order with the app not reading, or out of order behind a hole) pins up to 65535 "
                     "mbufs, more than the whole pool (--mbufs 32767): RX then starves for every connection. "
                     "Suggest: copy small segments into the tail mbuf (or count mbufs, not bytes, per connection, as "
                     "Linux does with truesize) and bound the mbufs one connection may hold")
            else:
                ok(msg)
        # Fill the hole: 2001 bytes in order, echoed to a peer that never ACKs (retransmissions run).
        self.link.send([data(base, 1)])
        r0 = base + 1 + n
        # Holes everywhere: 40 segments two bytes apart (16 slots), overlapping ones, a FIN out of order, data after
        # it, an earlier FIN, a segment past the right edge, old and new bytes together, one that swallows many.
        frames = [data(r0 + 2 + 4 * i, 2) for i in range(40)]
        frames += [data(r0 + 1 + 4 * i, 7) for i in range(0, 40, 3)]
        frames += [fin(r0 + 300, 10), data(r0 + 400, 9), fin(r0 + 290, 5), data(r0 + 65000, 1000)]
        frames += [data(r0 - 50, 60), data(r0 + 100, 250), data(r0 + 10, 150)]
        self.link.send(frames)
        time.sleep(0.3)
        self.want("tcp.rx_out_of_order", "ge", 40)
        self.alive("overlapping and out-of-order segments with FINs")
        c, _ = self.sy.now()
        check(c == 1, f"the scripted connection is still there (conns={c})")
        # synack's RCV.NXT: ask with an out-of-window ACK, which draws an ACK carrying it.
        mark = self.link.mark()
        self.link.send([self.seg(sport, r0 + 70000, ack, ACK)])
        time.sleep(0.2)
        acks = self.link.tcp_since(mark, dport=sport, dst=self.silent)
        nxt = acks[-1][5] if acks else r0
        # What synack echoed is what it assembled: every byte must be the one sent at that offset, none missing.
        got, fin_seen = {}, False
        for p in self.link.tcp_since(mark0, dport=sport, dst=self.silent):
            fin_seen = fin_seen or bool(p[6] & FIN)
            for i, b in enumerate(p[9]):
                got[(p[4] - ack + i) & 0xFFFFFFFF] = b
        run = 0
        while run in got:
            run += 1
        wrong = [o for o, b in got.items() if b != self.pattern(base + o, 1)[0]]
        want = ((nxt - base) & 0xFFFFFFFF) - (1 if fin_seen else 0)
        check(not wrong and run == len(got) == want,
              f"reassembly: {len(got)} bytes echoed ({run} contiguous), {len(wrong)} differ from what was sent at "
              f"that offset, RCV.NXT-ISN accounts for {want}{' and a FIN' if fin_seen else ''}")
        self.link.send([self.seg(sport, nxt, 0, RST)])
        c, _ = self.sy.wait(lambda c, tw: c == 0, 3)
        check(c == 0, f"the scripted connection reset by an RST at RCV.NXT={nxt} (conns={c})")
        self.alive("out-of-order abuse")

    # ---------------------------------------------------------------- TIME-WAIT under fire

    def phase_time_wait(self):
        print("-- TIME-WAIT (synack closed first on port 8): RST, retransmitted FIN, new SYN", flush=True)
        s = socket.create_connection((self.host, 8), timeout=5)
        lport = s.getsockname()[1]
        mark = self.link.mark()
        got = b""
        while True:
            b = s.recv(100)
            if not b:
                break
            got += b
        s.close()  # our FIN: synack, which closed first, goes to TIME-WAIT for 2 MSL (1 s here)
        time.sleep(0.1)
        ps = self.link.tcp_since(mark, dport=lport, dst=self.peer)
        c, tw = self.sy.now()
        if not check(got == b"bye\n" and ps and tw >= 1, f"synack in TIME-WAIT after closing first "
                                                       f"(got {got!r}, time_wait={tw})"):
            return
        rcv_nxt, snd_max = ps[-1][5], ps[-1][4]
        r = self.probe(lport, RST, rcv_nxt, dport=8, wait=0.15)
        c1, tw1 = self.sy.now()
        check(not r and tw1 >= 1, f"RST in TIME-WAIT ignored (RFC 1337): {len(r)} answers, time_wait={tw1}")
        self.want("tcp.rx_rst_time_wait", "ge", 1)
        r = self.probe(lport, FIN | ACK, rcv_nxt - 1, snd_max, dport=8, wait=0.15)
        check(len(r) == 1 and r[0][6] == ACK and r[0][5] == rcv_nxt, f"retransmitted FIN in TIME-WAIT answered "
              f"with an ACK of it (RFC 9293 §3.10.7.4): {[(flag_str(p[6]), p[4], p[5]) for p in r]}")
        seq = (rcv_nxt + 100000) & 0xFFFFFFFF
        r = self.probe(lport, SYN, seq, dport=8, wait=0.15)
        check(len(r) >= 1 and r[0][6] == SYN | ACK and r[0][5] == (seq + 1) & 0xFFFFFFFF,
              f"SYN above RCV.NXT reopens the TIME-WAIT 4-tuple (RFC 9293 MAY-2): "
              f"{[(flag_str(p[6]), p[4], p[5]) for p in r[:2]]}")
        self.want("tcp.rx_time_wait_reopen", "ge", 1)
        c, tw = self.sy.wait(lambda c, tw: c == 0, 3)
        check(c == 0, f"and that connection is gone after the kernel's RST (conns={c})")
        self.alive("TIME-WAIT probes")

    # ---------------------------------------------------------------- handshake and window games

    def phase_window(self):
        print(f"-- scripted peer ({self.silent}): bad ACK in SYN-RECEIVED, zero window, padded frames", flush=True)
        sport = 31001
        hs = self.handshake(sport)
        if not check(hs is not None, "scripted handshake with synack"):
            return
        base, ack = hs
        bad = (ack + 1000) & 0xFFFFFFFF
        mark = self.link.mark()
        self.link.send([self.seg(sport, base, bad)])
        time.sleep(0.2)
        r = self.link.tcp_since(mark, dport=sport, dst=self.silent)
        c, _ = self.sy.now()
        check(any(p[6] == RST and p[4] == bad for p in r) and c == 1,
              f"unacceptable ACK in SYN-RECEIVED: <SEQ=SEG.ACK><CTL=RST> and the half-open connection stays "
              f"(RFC 9293 §3.10.7.4): {[(flag_str(p[6]), p[4]) for p in r]}, conns={c}")
        self.want("tcp.rx_bad_ack_syn_received", "ge", 1)
        mark = self.link.mark()
        self.link.send([self.seg(sport, base, ack, win=0)])  # ESTABLISHED with a zero send window
        self.link.send([self.seg(sport, base, ack, ACK | PSH, payload=b"hello", win=0)])
        time.sleep(0.4)
        r = [p for p in self.link.tcp_since(mark, dport=sport, dst=self.silent) if p[7] > 0]
        check(all(p[7] <= 1 for p in r), f"nothing but one-byte probes sent into a zero window: "
                                         f"{[(p[4] - ack, p[7]) for p in r]}")
        mark = self.link.mark()
        self.link.send([self.seg(sport, base + 5, ack, win=65535)])  # window opens
        time.sleep(0.3)
        data = b"".join(p[9] for p in self.link.tcp_since(mark, dport=sport, dst=self.silent) if p[7] > 0)
        check(data.startswith(b"hello"), f"the echo flows once the window opens: {data[:20]!r}")
        # Ethernet padding after the IPv4 total length is not data: only "abc" may come back.
        mark = self.link.mark()
        self.link.send([self.seg(sport, base + 5, ack, ACK | PSH, payload=b"abc") + b"\xee" * 40])
        time.sleep(0.3)
        echoed = [p for p in self.link.tcp_since(mark, dport=sport, dst=self.silent)
                  if p[7] > 0 and p[4] == (ack + 5) & 0xFFFFFFFF]
        check(echoed and echoed[0][9] == b"abc", f"padding after the IPv4 total length is ignored: echo "
                                                 f"{echoed[0][9] if echoed else None!r}")
        # Our FIN out of order behind a 5-byte hole, then the hole: CLOSE-WAIT, the echo, synack's FIN; our ACK of
        # it closes the connection (LAST-ACK -> CLOSED) without any RST.
        mark = self.link.mark()
        self.link.send([self.seg(sport, base + 13, ack, ACK | FIN, payload=b"xyz")])
        time.sleep(0.1)
        self.link.send([self.seg(sport, base + 8, ack, payload=b"12345")])
        time.sleep(0.3)
        ps = self.link.tcp_since(mark, dport=sport, dst=self.silent)
        got = {(p[4] - ack + i) & 0xFFFFFFFF: x for p in ps for i, x in enumerate(p[9])}
        echo = bytes(got[o] for o in range(8, 16) if o in got)
        fins = [p for p in ps if p[6] & FIN]
        fin_seq = (ack + 16) & 0xFFFFFFFF
        check(echo == b"12345xyz" and fins and fins[0][4] == fin_seq,
              f"out-of-order FIN behind a hole: once filled, the data is echoed ({echo!r}) and synack closes "
              f"(FIN at {[p[4] - ack for p in fins]}, want 16)")
        self.link.send([self.seg(sport, base + 17, fin_seq + 1)])
        c, _ = self.sy.wait(lambda c, tw: c == 0, 3)
        check(c == 0, f"our ACK of synack's FIN closes the scripted connection (conns={c})")
        self.alive("window games")

    # ---------------------------------------------------------------- frames larger than an mbuf

    def phase_jumbo(self):
        print("-- frames longer than one mbuf (kernel side of the tap at MTU 9000)", flush=True)
        iface = self.a.iface
        subprocess.run(["ip", "link", "set", "dev", iface, "mtu", "9000"], check=True)
        try:
            time.sleep(0.2)
            # An echo request longer than synack's MTU (1500) but inside one mbuf, then frames longer than an mbuf.
            big = [raw(Ether(dst=self.mac, src=self.peer_mac) / IP(src=self.peer, dst=self.host) /
                       ICMP(type=8, id=77, seq=1) / Raw(os.urandom(1800)))]
            huge = [raw(Ether(dst=self.mac, src=self.peer_mac) / IP(src=self.peer, dst=self.host) /
                        ICMP(type=8, id=77, seq=2 + i) / Raw(os.urandom(n))) for i, n in enumerate((2100, 4000, 8900))]
            huge += [self.peer_tcp(9, SYN, payload=os.urandom(n))[0] for n in (2100, 5000)]
            mark = self.link.mark()
            self.link.send(big)
            time.sleep(0.3)
            echo = [f for f in self.link.since(mark) if f[12:14] == b"\x08\x00" and f[23] == 1]
            # Interface::icmp_input cannot answer beyond our MTU: the request is dropped as rx_icmp_unusable.
            check(not echo, f"echo request longer than our MTU is not answered ({[len(f) for f in echo]})")
            self.want("net.rx_icmp_unusable", "eq", 1)
            mark = self.link.mark()
            self.link.send(huge)
            time.sleep(0.3)
            r = self.link.since(mark)
            if not r:
                note("frames longer than one mbuf (2 KB) never reach synack: net_tap drops them (RX scatter is "
                     "off), so the chained-mbuf receive paths (rx_headers_split, payload across segments) cannot "
                     "be exercised through a tap")
            else:
                ok(f"frames longer than one mbuf: {len(r)} answers")
            self.alive("frames longer than one mbuf")
        finally:
            subprocess.run(["ip", "link", "set", "dev", iface, "mtu", "1500"])

    # ---------------------------------------------------------------- killed clients

    def phase_kill(self):
        print("-- Linux clients killed with SIGKILL mid-transfer", flush=True)
        me = os.path.abspath(__file__)
        for mode, reps in (("read", 2), ("noread", 1), ("fin-noread", 1)):
            for rep in range(reps):
                child = subprocess.Popen([sys.executable, me, "stream", "--host", self.host, "--port", "7",
                                          "--mode", mode], stdout=subprocess.PIPE, text=True)
                progress = [0, time.time()]  # bytes sent, when it last grew

                def follow(out=child.stdout, pr=progress):
                    for line in out:
                        if line.startswith("sent "):
                            pr[0], pr[1] = int(line.split()[1]), time.time()
                threading.Thread(target=follow, daemon=True).start()
                t0 = time.time()
                try:
                    while time.time() - t0 < 8 and child.poll() is None:
                        time.sleep(0.05)
                        if mode != "read" and time.time() - progress[1] > 1.0 and progress[0] > 0:
                            break  # windows closed: synack's send buffer full, its receive window shut
                        if mode == "read" and progress[0] >= 4 << 20:
                            break
                    c_before, _ = self.sy.now()
                finally:
                    child.kill()
                    child.wait(5)
                t1 = time.time()
                c, tw = self.sy.wait(lambda c, tw: c == 0, 10)
                check(c == 0 and progress[0] > 0,
                      f"client ({mode}) killed with SIGKILL after {progress[0] / 1e6:.1f} MB sent: conns "
                      f"{c_before} -> {c} in {time.time() - t1:.1f} s")
        self.alive("killed clients")

    # ---------------------------------------------------------------- all

    def run(self):
        self.mbufs = Mbufs(self.a.pid)
        if self.mbufs.error:
            fail(f"cannot read synack's mbuf pool: {self.mbufs.error}")
            self.mbufs = None
        c, tw = self.sy.wait(lambda c, tw: c == 0 and tw == 0, 5)
        self.baseline = self.stable_in_use()
        print(f"   synack idle: conns={c} time_wait={tw}, mbufs in use {self.baseline}", flush=True)
        phases = {"l2l3": self.phase_l2l3, "tcpjunk": self.phase_tcp_junk, "flags": self.phase_flags,
                  "rst": self.phase_rst, "notes": self.phase_notes, "flood": self.phase_flood_kernel,
                  "silent": self.phase_flood_silent, "ooo": self.phase_ooo, "tw": self.phase_time_wait,
                  "window": self.phase_window, "jumbo": self.phase_jumbo, "kill": self.phase_kill}
        for name in self.a.phases.split(","):
            t0 = time.time()
            try:
                phases[name]()
            except Exception as e:  # noqa: BLE001  one phase failing must not hide the others
                fail(f"phase {name} raised {type(e).__name__}: {e}")
            print(f"   ({name}: {time.time() - t0:.1f} s)", flush=True)
            if not self.sy.alive():
                fail(f"synack is gone after phase {name}")
                break
            in_use = self.stable_in_use()
            if in_use is not None:
                print(f"   mbufs in use after {name}: {in_use} (idle baseline {self.baseline})", flush=True)
        print("-- after the timers", flush=True)
        t0 = time.time()
        c, tw = self.sy.wait(lambda c, tw: c == 0 and tw == 0, 5)
        check(c == 0 and tw == 0, f"no connection left once the timers ran out: conns={c} time_wait={tw} "
                                  f"({time.time() - t0:.1f} s)")
        if self.mbufs:
            in_use = self.stable_in_use()
            check(in_use == self.baseline, f"no mbuf leaked: {in_use} in use, {self.baseline} when idle at the "
                                           "start (the RX ring's share included)")
        if self.a.leave_busy:
            self.leave_busy()
        self.link.close()
        with open(self.a.expect, "w") as f:
            json.dump(self.expect, f)

    def leave_busy(self):
        """State for the SIGTERM that follows: half-open connections, a connection holding out-of-order segments
        and unacknowledged data, a SYN,ACK waiting for an ARP answer that never comes."""
        print("-- leaving synack busy for SIGTERM", flush=True)
        self.teach_silent()
        self.link.send([eth(self.mac, self.silent_mac, 0x0800, ipv4(self.silent, self.host, 6, tcp(
            self.silent, self.host, 25000 + i, 8, self.rng.getrandbits(32), 0, SYN))) for i in range(300)])
        hs = self.handshake(31002)
        if hs:
            base, ack = hs
            self.link.send([self.seg(31002, base, ack)])
            self.link.send([self.seg(31002, base, ack, ACK | PSH, payload=b"x" * 1000)])    # echoed, never ACKed
            self.link.send([self.seg(31002, base + 1001 + 2 * i, ack, payload=b"y") for i in range(50)])  # held
        unknown = self.net + ".6"  # on-link, never answers ARP: its SYN,ACK waits in the ARP queue
        self.link.send([eth(self.mac, "02:00:00:00:79:66", 0x0800, ipv4(unknown, self.host, 6, tcp(
            unknown, self.host, 26000, 7, 1, 0, SYN)))])
        time.sleep(0.3)
        c, tw = self.sy.now()
        print(f"   conns={c} time_wait={tw}, mbufs in use {self.stable_in_use()}", flush=True)


# ---------------------------------------------------------------------------------------------------- verify

def cmd_verify(a):
    with open(a.log, errors="replace") as f:
        text = f.read()
    ctr = {m.group(1): int(m.group(2)) for m in re.finditer(r"^((?:net|tcp)\.\S+) (\d+)$", text, re.M)}
    cores = [tuple(map(int, m.groups())) for m in
             re.finditer(r"^core\d+ rx (\d+) tx \d+ tx_dropped (\d+) dispatched (\d+) dispatch_dropped (\d+)", text, re.M)]
    g = lambda k: ctr.get(k, 0)  # noqa: E731  (the report leaves zero counters out)
    with open(a.expect) as f:
        expect = json.load(f)
    total = {}
    for name, op, v in expect:
        key = (name, op)
        total[key] = total.get(key, 0) + v
    bad = []
    for (name, op), v in sorted(total.items()):
        have = g(name)
        if (op == "eq" and have != v) or (op == "ge" and have < v):
            bad.append(f"{name}={have} (want {'=' if op == 'eq' else '>='}{v})")
    check(not bad, f"{len(total)} drop counters in synack's exit report match what was sent"
                   f"{': ' + ', '.join(bad) if bad else ''}")
    eth_sum = sum(g("net." + k) for k in ("rx_truncated", "rx_headers_split", "rx_not_for_us", "rx_bad_src_mac",
                                          "rx_unknown_ethertype", "rx_arp", "rx_ipv4", "rx_ipv6"))
    check(g("net.rx_frames") == eth_sum, f"net.rx_frames ({g('net.rx_frames')}) = sum of its Ethernet outcomes "
                                         f"({eth_sum})")
    ip_sum = sum(g("net." + k) for k in ("rx_ip_bad_version", "rx_ip_bad_header_len", "rx_ip_bad_total_len",
                                         "rx_ip_bad_checksum", "rx_ip_not_for_us", "rx_ip_bad_src", "rx_ip_fragment",
                                         "rx_ip_options", "rx_ip_unknown_proto", "rx_icmp", "rx_tcp"))
    check(g("net.rx_ipv4") == ip_sum, f"net.rx_ipv4 ({g('net.rx_ipv4')}) = sum of its IPv4 outcomes ({ip_sum})")
    icmp_sum = sum(g("net." + k) for k in ("rx_icmp_bad", "rx_icmp_unhandled", "rx_icmp_unusable",
                                           "icmp_echo_replies", "rx_icmp_error_tcp", "rx_icmp_error_no_conn"))
    check(g("net.rx_icmp") == icmp_sum, f"net.rx_icmp ({g('net.rx_icmp')}) = sum of its outcomes ({icmp_sum})")
    check(g("net.rx_tcp") == g("tcp.rx_segments"),
          f"every segment IPv4 handed to TCP was counted by it (net.rx_tcp {g('net.rx_tcp')}, tcp.rx_segments "
          f"{g('tcp.rx_segments')})")
    rx = sum(c[0] for c in cores)
    if a.cores == 1:
        check(rx == g("net.rx_frames"), f"the port's received frames ({rx}) all reached the interface "
                                        f"(net.rx_frames {g('net.rx_frames')})")
    else:  # software RSS: core 0 receives all; ARP is copied to every core's interface
        check(len(cores) == a.cores and g("net.rx_frames") >= rx and sum(c[3] for c in cores) == 0,
              f"software RSS: {rx} frames received, {sum(c[2] for c in cores)} handed to another core, none "
              f"dropped ({sum(c[3] for c in cores)}), net.rx_frames {g('net.rx_frames')} (ARP counted per core)")
    check(sum(c[1] for c in cores) == 0, f"no frame lost on transmit (tx_dropped {sum(c[1] for c in cores)})")
    losses = {k: g(k) for k in ("tcp.tx_dropped_no_mbuf", "tcp.tx_dropped_queue_full",
                                "net.tx_queue_full", "net.tx_alloc_failed", "net.tx_malformed", "net.tx_no_headroom",
                                "net.tx_too_big", "net.rx_headers_split") if g(k)}
    check(not losses, f"no mbuf shortage, full queue or malformed output under attack{': ' + str(losses) if losses else ''}")
    shown = [k for k in sorted(ctr) if ctr[k]]
    print("   " + " ".join(f"{k}={ctr[k]}" for k in shown), flush=True)
    return 0 if failures == 0 else 1


# ---------------------------------------------------------------------------------------------------- helpers

def cmd_stream(a):
    """A Linux client in the middle of an echo transfer, until it is killed (or 30 s pass)."""
    s = socket.create_connection((a.host, a.port), timeout=10)
    print("connected", flush=True)
    deadline = time.time() + 30
    if a.mode == "read":
        def reader():
            try:
                while s.recv(1 << 20):
                    pass
            except OSError:
                pass
        threading.Thread(target=reader, daemon=True).start()
    chunk = os.urandom(65536)
    sent = 0
    while time.time() < deadline:
        if a.mode == "fin-noread" and sent >= 256 << 10:
            s.shutdown(socket.SHUT_WR)  # our FIN after the data, then killed with the echo unread
            print(f"sent {sent}", flush=True)
            time.sleep(max(0.0, deadline - time.time()))
            break
        s.sendall(chunk)
        sent += len(chunk)
        print(f"sent {sent}", flush=True)
    return 0


def cmd_mbufs(a):
    m = Mbufs(a.pid)
    if m.error:
        print("FAIL: " + m.error)
        return 1
    print(m.in_use())
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--iface", required=True)
    r.add_argument("--host", required=True)
    r.add_argument("--mac", required=True)
    r.add_argument("--log", required=True)
    r.add_argument("--pid", type=int, required=True)
    r.add_argument("--expect", required=True)
    r.add_argument("--phases", default="l2l3,tcpjunk,flags,rst,notes,flood,silent,ooo,tw,window,jumbo,kill")
    r.add_argument("--long", action="store_true")
    r.add_argument("--cores", type=int, default=1)
    r.add_argument("--leave-busy", action="store_true")
    v = sub.add_parser("verify")
    v.add_argument("--log", required=True)
    v.add_argument("--expect", required=True)
    v.add_argument("--cores", type=int, default=1)
    s = sub.add_parser("stream")
    s.add_argument("--host", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--mode", choices=["read", "noread", "fin-noread"], default="read")
    m = sub.add_parser("mbufs")
    m.add_argument("--pid", type=int, required=True)
    a = p.parse_args()
    if a.cmd == "run":
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
        Hostile(a).run()
        sys.exit(1 if failures else 0)
    sys.exit({"verify": cmd_verify, "stream": cmd_stream, "mbufs": cmd_mbufs}[a.cmd](a))


if __name__ == "__main__":
    main()
