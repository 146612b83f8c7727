#!/usr/bin/python3
"""Memory attacks on synack-echo over net_tap (driven by memory_attacks.sh), while Linux clients echo beside them.

  ooo      N connections, each sending 16 one-byte segments two bytes apart just past a hole at RCV.NXT.
  zerowin  N connections that send data, then keep their window at zero, answering every persist probe.

Attackers speak from a made-up host on the tap's subnet, with a MAC the kernel does not own: synack's replies go
there and the kernel (promiscuous only for our sniffer) drops them instead of answering with RSTs, as in
hostile.py. Legitimate clients are Linux sockets (peer.py's echo_once) from the tap's kernel side; each echo must
come back byte-exact. The attack counts as survived when >= 99% of them succeed during and after it, and synack's
mbufs in use (its --stats-ms lines) return to the level before the attack. Prints ok:/FAIL: lines; exits 1 on any
FAIL.
"""
import argparse
import os
import random
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostile import ACK, RST, SYN, Link, check, eth, ipv4, tcp  # noqa: E402
import hostile  # noqa: E402
from peer import echo_once  # noqa: E402
from scapy.compat import raw  # noqa: E402
from scapy.layers.l2 import ARP, Ether  # noqa: E402

SILENT_MAC = "02:00:00:00:91:03"


class Stats:
    """The latest `[synack]` stats line of synack-echo's log, as a dict of its key=value fields."""

    def __init__(self, log):
        self.log = log

    def last(self):
        with open(self.log, "rb") as f:
            text = f.read().decode(errors="replace")
        lines = re.findall(r"^\[synack\].*$", text, re.M)
        if not lines:
            return {}
        return {k: v for k, v in re.findall(r"(\w+)=([\w./]+)", lines[-1])}

    def in_use(self, settle=0.6):
        """mbufs in use once two stats lines agree (nothing moved in between)."""
        last = None
        for _ in range(40):
            v = int(self.last().get("mbufs_in_use", -1))
            if v == last:
                return v
            last = v
            time.sleep(settle)
        return last

    def counter(self, name):
        return int(self.last().get(name, 0))


class Legit(threading.Thread):
    """Linux clients echoing random payloads one after another until stopped."""

    def __init__(self, host, port, size):
        super().__init__(daemon=True)
        self.host, self.port, self.size = host, port, size
        self.ok = self.bad = 0
        self.errors = []
        self.stop = False

    def run(self):
        while not self.stop:
            data = os.urandom(self.size)
            try:
                got = echo_once(self.host, self.port, data, timeout=10)
                if got == data:
                    self.ok += 1
                else:
                    self.bad += 1
                    self.errors.append(f"echo of {len(data)} came back as {len(got)} bytes")
            except OSError as e:
                self.bad += 1
                self.errors.append(repr(e))
            time.sleep(0.02)

    def finish(self):
        self.stop = True
        self.join(15)
        return self.ok, self.bad


class Attacker:
    def __init__(self, a):
        self.a = a
        self.link = Link(a.iface, a.mac, cap=2_000_000)
        self.silent = a.silent
        self.rng = random.Random(7)
        self.conns = {}  # sport -> (our next seq, our ack of synack's data, synack's iss + 1)

    def frame(self, sport, seq, ack, flags=ACK, payload=b"", win=65535, opts=b""):
        return eth(self.a.mac, SILENT_MAC, 0x0800,
                   ipv4(self.silent, self.a.host, 6,
                        tcp(self.silent, self.a.host, sport, self.a.port, seq, ack, flags, win=win, opts=opts,
                            payload=payload)))

    def teach_arp(self):
        self.link.send([raw(Ether(dst="ff:ff:ff:ff:ff:ff", src=SILENT_MAC) /
                            ARP(op=1, hwsrc=SILENT_MAC, psrc=self.silent, pdst=self.a.host))])
        time.sleep(0.2)

    def open(self, ports, batch=200):
        """Handshakes in batches (below the listener's SYN backlog, so no SYN evicts another)."""
        for i in range(0, len(ports), batch):
            part = ports[i:i + batch]
            isn = {p: self.rng.getrandbits(32) for p in part}
            mark = self.link.mark()
            self.link.send([self.frame(p, isn[p], 0, SYN, opts=b"\x02\x04\x05\xb4") for p in part], burst=50,
                           pause=0.003)
            got = {}
            for _ in range(40):
                time.sleep(0.05)
                for p in self.link.tcp_since(mark, dst=self.silent):
                    if p[6] == SYN | ACK and p[3] in isn:
                        got[p[3]] = p[4]
                if len(got) == len(part):
                    break
            acks = []
            for p, irs in got.items():
                self.conns[p] = [isn[p] + 1, irs + 1]
                acks.append(self.frame(p, isn[p] + 1, irs + 1))
            self.link.send(acks, burst=50, pause=0.003)
        time.sleep(0.3)
        return len(self.conns)

    def reset_all(self):
        self.link.send([self.frame(p, c[0], 0, RST) for p, c in self.conns.items()], burst=50, pause=0.003)

    def close(self):
        self.link.close()


def run_with_legit(a, attack, after_s):
    st = Stats(a.log)
    idle = st.in_use()
    print(f"-- {a.attack}: {a.conns} attacking connections; mbufs in use before: {idle}", flush=True)
    at = Attacker(a)
    at.teach_arp()
    legit = Legit(a.host, a.port, a.payload)
    legit.start()
    t0 = time.time()
    peak = [idle or 0]
    sampling = [True]

    def sample():
        while sampling[0]:
            v = int(st.last().get("mbufs_in_use", 0))
            peak[0] = max(peak[0], v)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        attack(at, st)
        time.sleep(after_s)
        ok_d, bad_d = legit.finish()
        during = ok_d + bad_d
        check(during >= 20 and ok_d >= 0.99 * during,
              f"{a.attack}: legitimate echoes during the attack: {ok_d} of {during} byte-exact "
              f"({time.time() - t0:.0f} s){'; ' + '; '.join(legit.errors[:3]) if legit.errors else ''}")
        at.reset_all()
        time.sleep(1)
    finally:
        sampling[0] = False
        at.close()
    after = Legit(a.host, a.port, a.payload)
    after.start()
    time.sleep(5)
    ok_a, bad_a = after.finish()
    check(ok_a + bad_a >= 10 and ok_a >= 0.99 * (ok_a + bad_a),
          f"{a.attack}: legitimate echoes after the attack: {ok_a} of {ok_a + bad_a} byte-exact")
    end = None
    for _ in range(30):
        end = st.in_use()
        if idle is not None and end is not None and end <= idle + 64:
            break
        time.sleep(1)
    check(idle is not None and end is not None and end <= idle + 64,
          f"{a.attack}: mbufs in use back at the idle level: {end} (idle {idle}, peak {peak[0]}), no restart")
    s = st.last()
    print(f"   counters: " + " ".join(f"{k}={s.get(k)}" for k in
                                       ("mem", "pressure", "mem_dropped", "ooo_pruned", "snd_refused", "aborted_mem",
                                        "persist_to", "user_to")), flush=True)
    return s


def attack_ooo(a):
    def go(at, st):
        n = at.open(list(range(20000, 20000 + a.conns)))
        check(n >= 0.98 * a.conns, f"ooo: {n} of {a.conns} attacking connections established")
        frames = []
        for i in range(a.segs):  # round-robin: every connection's hole is there from the first segment
            for p, c in at.conns.items():
                frames.append(at.frame(p, c[0] + 1 + 2 * i, c[1], payload=bytes([65 + i])))
        t = time.time()
        at.link.send(frames, burst=100, pause=0.005)
        print(f"   sent {len(frames)} one-byte out-of-order segments in {time.time() - t:.1f} s", flush=True)
        s = st.last()
        print(f"   during: mbufs_in_use={s.get('mbufs_in_use')} mem={s.get('mem')} pressure={s.get('pressure')}",
              flush=True)

    s = run_with_legit(a, go, 3)
    limit = int(s.get("mem", "0/0").split("/")[1])
    if a.conns * a.segs * 2304 > 0.75 * limit:  # more than the high watermark: the budget must have refused some
        check(int(s.get("mem_dropped", 0)) + int(s.get("ooo_pruned", 0)) > 0,
              "ooo: the flood met the memory budget (rx_mem_dropped or ooo_pruned counted)")


def attack_zerowin(a):
    stop = [False]

    def answer_probes(at):
        """Every segment synack sends to an attacker is answered with a zero window, acknowledging nothing new."""
        mark = at.link.mark()
        while not stop[0]:
            time.sleep(0.05)
            new = at.link.tcp_since(mark, dst=at.silent)
            mark += len(at.link.since(mark))
            replies = [at.frame(p[3], at.conns[p[3]][0], at.conns[p[3]][1], win=0)
                       for p in new if p[3] in at.conns and p[7] > 0]
            if replies:
                at.link.send(replies, burst=50, pause=0.002)

    def go(at, st):
        n = at.open(list(range(30000, 30000 + a.conns)))
        check(n >= 0.98 * a.conns, f"zerowin: {n} of {a.conns} attacking connections established")
        responder = threading.Thread(target=answer_probes, args=(at,), daemon=True)
        responder.start()
        for rnd in range(a.rounds):  # window after window: echo fills the send buffers behind a zero window
            frames = []
            for p, c in at.conns.items():
                for _ in range(40):
                    frames.append(at.frame(p, c[0], c[1], payload=os.urandom(1460), win=0))
                    c[0] += 1460
            at.link.send(frames, burst=100, pause=0.005)
            time.sleep(1)
            s = st.last()
            print(f"   round {rnd}: mbufs_in_use={s.get('mbufs_in_use')} mem={s.get('mem')} "
                  f"pressure={s.get('pressure')} snd_refused={s.get('snd_refused')}", flush=True)
        # Until synack gives up on them (persist timeout) or resets them (memory pressure).
        deadline = time.time() + a.wait_s
        while time.time() < deadline:
            s = st.last()
            if int(s.get("persist_to", 0)) + int(s.get("aborted_mem", 0)) >= 0.98 * a.conns:
                break
            time.sleep(0.5)
        stop[0] = True

    s = run_with_legit(a, go, 1)
    gone = int(s.get("persist_to", 0)) + int(s.get("aborted_mem", 0))
    check(gone >= 0.98 * a.conns, f"zerowin: {gone} zero-window readers ended by synack itself "
                                  f"(persist timeout {s.get('persist_to')}, pressure aborts {s.get('aborted_mem')})")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("attack", choices=["ooo", "zerowin"])
    p.add_argument("--iface", required=True)
    p.add_argument("--host", required=True)
    p.add_argument("--silent", required=True, help="the made-up attacking host's address on the subnet")
    p.add_argument("--mac", required=True, help="synack's MAC")
    p.add_argument("--port", type=int, default=7)
    p.add_argument("--log", required=True)
    p.add_argument("--conns", type=int, default=2500)
    p.add_argument("--segs", type=int, default=16)
    p.add_argument("--payload", type=int, default=4000)
    p.add_argument("--wait-s", type=float, default=40)
    p.add_argument("--rounds", type=int, default=5, help="zerowin: windows of data each attacker sends")
    a = p.parse_args()
    (attack_ooo if a.attack == "ooo" else attack_zerowin)(a)
    sys.exit(1 if hostile.failures else 0)


if __name__ == "__main__":
    main()
