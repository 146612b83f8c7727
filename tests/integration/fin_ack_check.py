#!/usr/bin/python3
"""Reads a capture of connections a Linux client closed first (client FIN before synack's) and checks that synack
never acknowledged the client's FIN with a segment of its own before its FIN: the FIN carries that ACK
(Core::set_delayed_fin_ack, on for Channel connections). Prints the connections seen and exits 1 on any pure ACK.
  fin_ack_check.py CAPTURE SYNACK_IP"""
import subprocess
import sys


def main():
    cap, synack = sys.argv[1], sys.argv[2]
    fields = ["tcp.stream", "ip.src", "tcp.flags.fin", "tcp.flags.syn", "tcp.flags.reset", "tcp.seq", "tcp.ack",
              "tcp.len"]
    out = subprocess.run(["tshark", "-r", cap, "-Y", "tcp", "-T", "fields", *sum((["-e", f] for f in fields), [])],
                         capture_output=True, text=True, check=True).stdout
    streams = {}
    for line in out.splitlines():
        v = line.split("\t")
        if len(v) != len(fields) or not v[0]:
            continue
        streams.setdefault(int(v[0]), []).append(
            (v[1] == synack, v[2] == "1", v[3] == "1", v[4] == "1", int(v[5]), int(v[6] or 0), int(v[7] or 0)))
    client_first = pure_acks = 0
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
        if any(s[0] and not s[1] and not s[2] and not s[3] and s[6] == 0 and s[5] == fin_ack for s in before_our_fin):
            pure_acks += 1
    print(f"{client_first} connections closed by the client first; {pure_acks} with a pure ACK of its FIN before "
          f"synack's FIN")
    return 0 if client_first > 0 and pure_acks == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
