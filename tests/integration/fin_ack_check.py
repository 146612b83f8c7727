#!/usr/bin/python3
"""Reads a capture of connections a Linux client closed first (client FIN before synack's) and checks that synack
never acknowledged the client's FIN with a segment of its own before its FIN: the FIN carries that ACK
(Core::set_delayed_fin_ack, on for Channel connections). A pure ACK that left only when the delayed-ACK timer ran
out (the application had not closed within DELACK_MS) is the timer doing its job and is only reported; one sent
sooner fails. Prints the connections seen and exits 1 on any early pure ACK.
  fin_ack_check.py CAPTURE SYNACK_IP [DELACK_MS]"""
import subprocess
import sys


def main():
    cap, synack = sys.argv[1], sys.argv[2]
    delack_ms = float(sys.argv[3]) if len(sys.argv) > 3 else 40.0
    fields = ["frame.time_relative", "tcp.stream", "ip.src", "tcp.flags.fin", "tcp.flags.syn", "tcp.flags.reset", "tcp.seq", "tcp.ack",
              "tcp.len"]
    out = subprocess.run(["tshark", "-r", cap, "-Y", "tcp", "-T", "fields", *sum((["-e", f] for f in fields), [])],
                         capture_output=True, text=True, check=True).stdout
    streams = {}
    for line in out.splitlines():
        v = line.split("\t")
        if len(v) != len(fields) or not v[1]:
            continue
        streams.setdefault(int(v[1]), []).append((v[2] == synack, v[3] == "1", v[4] == "1", v[5] == "1", int(v[6]),
                                                  int(v[7] or 0), int(v[8] or 0), float(v[0])))
    client_first = pure_acks = late_acks = 0
    for segs in streams.values():
        client_fin = next((s for s in segs if not s[0] and s[1]), None)
        ours = [s for s in segs if s[0] and s[1]]
        if client_fin is None or not ours:
            continue
        if segs.index(ours[0]) < segs.index(client_fin):
            continue  # synack closed first
        client_first += 1
        fin_ack = client_fin[4] + client_fin[6] + 1  # the ack number that covers the client's FIN
        before_our_fin = segs[segs.index(client_fin):segs.index(ours[0])]
        acks = [s for s in before_our_fin if s[0] and not s[1] and not s[2] and not s[3] and s[6] == 0 and s[5] == fin_ack]
        if acks:
            after_ms = (acks[0][7] - client_fin[7]) * 1000
            # The timer runs on a wheel of coarser ticks: allow it a quarter early.
            if after_ms >= 0.75 * delack_ms:
                late_acks += 1
            else:
                pure_acks += 1
            print(f"  a pure ACK of the client's FIN {after_ms:.1f} ms after it, before synack's FIN")
    print(f"{client_first} connections closed by the client first; {pure_acks} with a pure ACK of its FIN before "
          f"synack's FIN, sooner than the delayed-ACK timer; {late_acks} when the timer ran out")
    return 0 if client_first > 0 and pure_acks == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
