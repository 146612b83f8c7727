#!/usr/bin/python3
"""Reads a capture of connections a Linux client closed first (client FIN before synack's) and checks that synack
never acknowledged the client's FIN with a segment of its own before its FIN: the FIN carries that ACK
(Core::set_delayed_fin_ack, on for Channel connections). A pure ACK that left only when the delayed-ACK timer ran
out (the application had not closed within DELACK_MS) is the timer doing its job and is only reported; one sent
sooner fails. Prints the connections seen and exits 1 on any early pure ACK.
  fin_ack_check.py CAPTURE SYNACK_IP"""
import collections
import subprocess
import sys

DELACK_MS = 40.0  # Config::delayed_ack_ms's default, which the servers under test run with

Seg = collections.namedtuple("Seg", "time ours fin syn rst seq ack len")


def pure_ack(s, ack):
    return s.ours and not (s.fin or s.syn or s.rst) and s.len == 0 and s.ack == ack


def main():
    cap, synack = sys.argv[1], sys.argv[2]
    fields = ["frame.time_relative", "tcp.stream", "ip.src", "tcp.flags.fin", "tcp.flags.syn", "tcp.flags.reset",
              "tcp.seq", "tcp.ack", "tcp.len"]
    out = subprocess.run(["tshark", "-r", cap, "-Y", "tcp", "-T", "fields", *sum((["-e", f] for f in fields), [])],
                         capture_output=True, text=True, check=True).stdout
    streams = {}
    for line in out.splitlines():
        v = line.split("\t")
        if len(v) != len(fields) or not v[1]:
            continue
        streams.setdefault(int(v[1]), []).append(
            Seg(float(v[0]), v[2] == synack, v[3] == "1", v[4] == "1", v[5] == "1", int(v[6]), int(v[7] or 0),
                int(v[8] or 0)))
    client_first = pure_acks = late_acks = 0
    for segs in streams.values():
        client_fin = next((s for s in segs if not s.ours and s.fin), None)
        ours = [s for s in segs if s.ours and s.fin]
        if client_fin is None or not ours:
            continue
        if segs.index(ours[0]) < segs.index(client_fin):
            continue  # synack closed first
        client_first += 1
        fin_ack = client_fin.seq + client_fin.len + 1  # the ack number that covers the client's FIN
        acks = [s for s in segs[segs.index(client_fin):segs.index(ours[0])] if pure_ack(s, fin_ack)]
        if acks:
            after_ms = (acks[0].time - client_fin.time) * 1000
            # Capture timestamps and the timer wheel's ticks: allow the timer a quarter early.
            if after_ms >= 0.75 * DELACK_MS:
                late_acks += 1
            else:
                pure_acks += 1
            print(f"  a pure ACK of the client's FIN {after_ms:.1f} ms after it, before synack's FIN")
    print(f"{client_first} connections closed by the client first; {pure_acks} with a pure ACK of its FIN before "
          f"synack's FIN, sooner than the delayed-ACK timer; {late_acks} when the timer ran out")
    return 0 if client_first > 0 and pure_acks == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
