#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets: tests/fuzz/corpus/{frame,engine}/ (small, committed).

The frames are the kinds the unit tests (tests/test_net.cpp, tests/test_wire.cpp, tests/test_engine_*.cpp) feed:
ARP requests and replies, ICMP echo, TCP handshakes with and without options, data, FIN, RST, and the malformed
variants (IP options, fragments, bad checksums, short headers). The engine inputs are the tests' scenarios in the
step encoding of fuzz_engine.cpp. Plain Python 3, no scapy: python3 tests/fuzz/gen_seeds.py
"""
import hashlib
import os
import struct
import sys

OUR_MAC = bytes([2, 0, 0, 0, 0, 1])
PEER_MAC = bytes([2, 0, 0, 0, 0, 2])
BCAST = b"\xff" * 6
OUR_IP = bytes([10, 0, 0, 1])
PEER_IP = bytes([10, 0, 0, 2])


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def eth(payload, etype=0x0800, dst=OUR_MAC, src=PEER_MAC):
    f = dst + src + struct.pack("!H", etype) + payload
    return f + b"\0" * max(0, 60 - len(f))


def ipv4(payload, proto=6, src=PEER_IP, dst=OUR_IP, frag=0, options=b"", bad_sum=False):
    ihl = 5 + len(options) // 4
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(payload), 1, frag, 64, proto, 0, src, dst) + options
    s = csum(h) ^ (0x1234 if bad_sum else 0)
    return h[:10] + struct.pack("!H", s) + h[12:] + payload


def tcp_opts(mss=None, ws=None, sackok=False, ts=None, sack=()):
    o = b""
    if mss is not None:
        o += struct.pack("!BBH", 2, 4, mss)
    if ws is not None:
        o += struct.pack("!BBBB", 1, 3, 3, ws)
    if sackok:
        o += b"\x01\x01\x04\x02"
    if ts is not None:
        o += struct.pack("!BBBBII", 1, 1, 8, 10, ts[0], ts[1])
    if sack:
        o += struct.pack("!BBBB", 1, 1, 5, 2 + 8 * len(sack)) + b"".join(struct.pack("!II", l, r) for l, r in sack)
    return o + b"\0" * (-len(o) % 4)


OUR_IP6 = bytes([0xfd] + [0] * 14 + [1])   # fd00::1, fuzz_frame.cpp's
PEER_IP6 = bytes([0xfd] + [0] * 14 + [2])


def ipv6(payload, nh=6, src=PEER_IP6, dst=OUR_IP6):
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), nh, 64, src, dst) + payload


def tcp(flags, seq, ack, data=b"", sport=40000, dport=80, wnd=65535, opts=b"", bad_sum=False, v6=False):
    off = (20 + len(opts)) // 4
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, wnd, 0, 0) + opts
    if v6:  # RFC 8200 §8.1: source, destination, upper-layer length (32 bits), next header
        pseudo = PEER_IP6 + OUR_IP6 + struct.pack("!IxxxB", len(h) + len(data), 6)
    else:
        pseudo = PEER_IP + OUR_IP + struct.pack("!BBH", 0, 6, len(h) + len(data))
    s = csum(pseudo + h + data) ^ (0x4321 if bad_sum else 0)
    return h[:16] + struct.pack("!H", s) + h[18:] + data


def arp(op, sha, spa, tha, tpa):
    return struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + sha + spa + tha + tpa


def icmp_echo(ident=7, seq=1, data=b"ping"):
    h = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + data
    return h[:2] + struct.pack("!H", csum(h)) + h[4:]


F, S, R, P, A = 0x01, 0x02, 0x04, 0x08, 0x10
FULL = tcp_opts(mss=1460, ws=7, sackok=True, ts=(100, 0))


def frames():
    yield "arp_request", eth(arp(1, PEER_MAC, PEER_IP, b"\0" * 6, OUR_IP), 0x0806, dst=BCAST)
    yield "arp_reply", eth(arp(2, PEER_MAC, PEER_IP, OUR_MAC, OUR_IP), 0x0806)
    yield "arp_gratuitous", eth(arp(1, PEER_MAC, PEER_IP, b"\0" * 6, PEER_IP), 0x0806, dst=BCAST)
    yield "icmp_echo", eth(ipv4(icmp_echo(), proto=1))
    yield "icmp_unreach", eth(ipv4(struct.pack("!BBHI", 3, 3, 0, 0) + ipv4(tcp(S, 1, 0))[:28], proto=1))
    yield "udp", eth(ipv4(struct.pack("!HHHH", 1, 2, 8, 0), proto=17))
    yield "syn", eth(ipv4(tcp(S, 1000, 0)))
    yield "syn_mss", eth(ipv4(tcp(S, 1000, 0, opts=tcp_opts(mss=1460))))
    yield "syn_all_options", eth(ipv4(tcp(S, 1000, 0, opts=FULL)))
    yield "syn_mss0", eth(ipv4(tcp(S, 1000, 0, opts=tcp_opts(mss=0))))
    yield "syn_ws14", eth(ipv4(tcp(S, 1000, 0, opts=tcp_opts(ws=14))))
    yield "syn_data_fin", eth(ipv4(tcp(S | F, 1000, 0, data=b"hello")))
    yield "syn_closed_port", eth(ipv4(tcp(S, 1000, 0, dport=81)))
    yield "ack_no_conn", eth(ipv4(tcp(A, 1001, 3001)))
    yield "rst", eth(ipv4(tcp(R, 1001, 0)))
    yield "fin_ack", eth(ipv4(tcp(F | A, 1001, 3001)))
    yield "data", eth(ipv4(tcp(P | A, 1001, 3001, data=b"x" * 100)))
    yield "data_large", eth(ipv4(tcp(P | A, 1001, 3001, data=bytes(range(256)) * 5)))
    yield "sack_blocks", eth(ipv4(tcp(A, 1001, 3001, opts=tcp_opts(ts=(5, 6), sack=((3001, 3101), (3201, 3301))))))
    yield "opt_unknown_kind", eth(ipv4(tcp(S, 1000, 0, opts=b"\x1e\x06abcd\x00\x00")))
    yield "opt_bad_len", eth(ipv4(tcp(S, 1000, 0, opts=b"\x02\x01\x00\x00")))
    yield "opt_runs_past", eth(ipv4(tcp(S, 1000, 0, opts=b"\x08\x0a\x00\x00")))
    yield "ip_options", eth(ipv4(tcp(S, 1000, 0), options=b"\x01\x01\x01\x00"))
    yield "ip_fragment", eth(ipv4(tcp(S, 1000, 0), frag=0x2000))
    yield "ip_bad_checksum", eth(ipv4(tcp(S, 1000, 0), bad_sum=True))
    yield "tcp_bad_checksum", eth(ipv4(tcp(S, 1000, 0, bad_sum=True)))
    yield "ip_not_ours", eth(ipv4(tcp(S, 1000, 0), dst=bytes([10, 0, 0, 9])))
    yield "ip_src_ours", eth(ipv4(tcp(S, 1000, 0), src=OUR_IP))
    yield "ip_broadcast_l2", eth(ipv4(tcp(S, 1000, 0)), dst=BCAST)
    yield "tcp_short_offset", eth(ipv4(tcp(S, 1000, 0)[:12] + b"\x40" + tcp(S, 1000, 0)[13:]))
    yield "vlan", eth(b"\0\1\x08\0" + ipv4(tcp(S, 1000, 0)), 0x8100)
    yield "ipv6", eth(b"\x60" + b"\0" * 39, 0x86DD)
    # TCP over IPv6 to fd00::1 (the engine's IPv6 path)
    yield "ipv6_syn", eth(ipv6(tcp(S, 1000, 0, opts=FULL, v6=True)), 0x86DD)
    yield "ipv6_syn_closed_port", eth(ipv6(tcp(S, 1000, 0, dport=81, v6=True)), 0x86DD)
    yield "ipv6_ack_no_conn", eth(ipv6(tcp(A, 1001, 3001, v6=True)), 0x86DD)
    yield "ipv6_data", eth(ipv6(tcp(P | A, 1001, 3001, data=b"x" * 100, v6=True)), 0x86DD)
    yield "ipv6_hop_by_hop", eth(ipv6(b"\x06\0\x01\x04\0\0\0\0" + tcp(S, 1000, 0, v6=True), nh=0), 0x86DD)
    yield "ipv6_tcp_bad_checksum", eth(ipv6(tcp(S, 1000, 0, bad_sum=True, v6=True)), 0x86DD)
    yield "truncated_ip", eth(ipv4(tcp(S, 1000, 0)))[:30]


def engine_seeds():
    """fuzz_engine.cpp steps: 0/1/2 segment (flags, seq_off16, ack_off16, wnd16, len_sel, opt_sel, [opts]),
    3 advance (ms16), 4 recv (conn), 5 send (conn, len16), 6 close (conn), 7 abort (conn)."""
    isn = struct.pack("!I", 1000)
    wrap = struct.pack("!I", 0xFFFFFF00)

    def seg(flags, seq_off=0, ack_off=0, wnd=65535, length=0, opt_sel=0, opts=b"", kind=0):
        return bytes([kind, flags]) + struct.pack("!hhHBB", seq_off, ack_off, wnd, length, opt_sel) + opts

    def adv(ms):
        return bytes([3]) + struct.pack("!H", ms)

    recv, close, abort = b"\x04\x00", b"\x06\x00", b"\x07\x00"

    def send(n):
        return b"\x05\x00" + struct.pack("!H", n)

    yield "listen_syn", b"\x00" + isn + seg(S, opt_sel=1, opts=struct.pack("!H", 1460), kind=2) + adv(1000)
    yield "data_in_order", b"\x01" + isn + seg(P | A, length=100) + seg(P | A, 100, length=100) + recv
    yield "data_out_of_order", b"\x01" + isn + seg(A, 100, length=100) + seg(A, 300, length=50) + seg(A, length=100)
    yield "peer_fin", b"\x01" + isn + seg(F | A) + recv + close + seg(A, 1, 1)
    yield "we_close_first", b"\x01" + isn + close + seg(A, 0, 1) + seg(F | A, 0, 1) + adv(60000)
    yield "simultaneous_close", b"\x01" + isn + close + seg(F | A, 0, 0) + seg(A, 1, 1)
    yield "rst_exact", b"\x01" + isn + seg(R, 0)
    yield "rst_in_window", b"\x01" + isn + seg(R, 500)
    yield "syn_established", b"\x01" + isn + seg(S, 0)
    yield "ack_beyond_snd_nxt", b"\x01" + isn + seg(A, 0, 5000)
    yield "echo_and_ack", b"\x01" + isn + seg(P | A, length=10) + recv + send(10) + seg(A, 10, 10)
    yield "rto", b"\x03" + isn + adv(1000) + adv(2000) + adv(4000) + seg(A, 0, 1460)
    yield "dup_acks", b"\x03" + isn + seg(A) + seg(A) + seg(A) + seg(A, 0, 1460)
    yield "zero_window", b"\x03" + isn + seg(A, 0, 1460, wnd=0) + adv(1000) + adv(2000) + seg(A, 0, 1460)
    yield "small_rcv_buf", b"\x09" + isn + b"".join(seg(A, i * 1397, length=0xFF) for i in range(3)) + adv(200)
    yield "options_ts_sack", b"\x07" + isn + seg(A, 0, 1460, opt_sel=0x18, opts=b"\x01" + struct.pack("!hH", 1460, 1460))
    yield "paws_old_ts", b"\x05" + isn + seg(A, 0, 0, length=10, opt_sel=0x08, opts=b"\x80") + recv
    yield "active_open", b"\x02" + isn + seg(P | A, length=20) + recv + send(100) + seg(A, 20, 100) + close
    yield "seq_wrap", b"\x01" + wrap + b"".join(seg(A, i * 1397, length=0xFF) for i in range(3)) + recv
    yield "abort", b"\x01" + isn + send(3000) + abort
    yield "time_wait_syn", b"\x01" + isn + close + seg(F | A, 0, 1) + seg(S, 100, kind=0) + adv(65000)
    yield "tso_send", b"\x11" + isn + send(8000) + seg(A, 0, 2920) + adv(300) + seg(A, 0, 8000)
    yield "tso_in_flight_loss", b"\x13" + isn + send(6000) + seg(A) + seg(A) + seg(A) + adv(1000) + seg(A, 0, 9000)
    yield "new_conns", b"\x00" + isn + b"".join(seg(S, 0, 0, kind=2) + seg(A, 1, 1, kind=2) for _ in range(3))


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    n = 0
    # every engine seed once more over IPv6 (set-up bit 5)
    engine = [x for k, e in engine_seeds() for x in ((k, e), (k + "_v6", bytes([e[0] | 0x20]) + e[1:]))]
    for sub, items in (("frame", ((k, bytes([c]) + f) for k, f in frames() for c in (0x00, 0x05))), ("engine", engine)):
        d = os.path.join(root, sub)
        os.makedirs(d, exist_ok=True)
        for name, data in items:
            # ctl byte 0: checksums verified in software; 5: the port vouched for both (reaches TCP past them)
            tag = hashlib.sha1(data).hexdigest()[:8]
            with open(os.path.join(d, "%s-%s" % (name, tag)), "wb") as f:
                f.write(data)
            n += 1
    print("gen_seeds: %d seeds in %s" % (n, root), file=sys.stderr)


if __name__ == "__main__":
    main()
