#!/usr/bin/python3
"""The Linux side of the integration tests: real kernel sockets talking to synack over net_tap.

Each subcommand prints one line 'ok: ...' or 'FAIL: ...' and exits 0 or 1.
"""
import argparse
import errno
import hashlib
import os
import socket
import subprocess
import sys
import threading
import time


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def echo_once(host, port, payload, timeout=10):
    s = socket.create_connection((host, port), timeout=timeout)
    got = bytearray()
    err = []

    def reader():
        try:
            while True:
                b = s.recv(1 << 20)
                if not b:
                    break
                got.extend(b)
        except OSError as e:
            err.append(e)

    t = threading.Thread(target=reader)
    t.start()
    s.sendall(payload)
    s.shutdown(socket.SHUT_WR)  # our FIN: the echo server closes after echoing everything
    t.join(timeout)
    s.close()
    if err:
        raise err[0]
    return bytes(got)


def cmd_bulk(a):
    data = os.urandom(a.size)
    t0 = time.time()
    got = echo_once(a.host, a.port, data, timeout=60)
    dt = time.time() - t0
    want, have = hashlib.sha256(data).hexdigest(), hashlib.sha256(got).hexdigest()
    if len(got) != len(data) or want != have:
        fail(f"bulk echo: sent {len(data)} bytes sha256 {want[:16]}, got {len(got)} bytes sha256 {have[:16]}")
    print(f"ok: {len(data)} bytes echoed, sha256 {want[:16]}... matches, {dt:.2f} s, "
          f"{len(data) * 8 / dt / 1e6:.0f} Mbit/s each way", flush=True)


def cmd_sequential(a):
    t0 = time.time()
    for i in range(a.count):
        msg = f"hello {i}\n".encode()
        got = echo_once(a.host, a.port, msg)
        if got != msg:
            fail(f"connection {i}: sent {msg!r}, got {got!r}")
    dt = time.time() - t0
    print(f"ok: {a.count} sequential connections, each echoed and closed, {a.count / dt:.0f} conn/s", flush=True)


def cmd_concurrent(a):
    socks = []
    for i in range(a.count):
        socks.append(socket.create_connection((a.host, a.port), timeout=20))
    msgs = [os.urandom(1000 + i) for i in range(a.count)]
    for s, m in zip(socks, msgs):
        s.sendall(m)
    for s in socks:
        s.shutdown(socket.SHUT_WR)
    for i, (s, m) in enumerate(zip(socks, msgs)):
        got = bytearray()
        while True:
            b = s.recv(65536)
            if not b:
                break
            got.extend(b)
        if bytes(got) != m:
            fail(f"concurrent connection {i}: {len(m)} bytes sent, {len(got)} back, equal={bytes(got) == m}")
        s.close()
    print(f"ok: {a.count} concurrent connections open at once, each echoed byte for byte and closed", flush=True)


def cmd_refused(a):
    try:
        socket.create_connection((a.host, a.port), timeout=5)
    except ConnectionRefusedError:
        print(f"ok: connect to closed port {a.port} refused (ECONNREFUSED)", flush=True)
        return
    except OSError as e:
        fail(f"connect to closed port {a.port}: {e!r}, expected ECONNREFUSED")
    fail(f"connect to closed port {a.port} succeeded")


def ep(host, port):
    """host:port as ss(8) takes and prints it: an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def linux_states(host, port):
    out = subprocess.run(["ss", "-tanH", "dst", ep(host, port)], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def cmd_client_close(a):
    # Linux closes first: Linux holds TIME-WAIT, synack passes through CLOSE-WAIT and LAST-ACK to CLOSED.
    s = socket.create_connection((a.host, a.port), timeout=5)
    s.sendall(b"x")
    if s.recv(10) != b"x":
        fail("client close: no echo")
    local = s.getsockname()
    s.shutdown(socket.SHUT_WR)
    if s.recv(10) != b"":
        fail("client close: expected the server's FIN")
    s.close()
    time.sleep(0.2)
    out = subprocess.run(["ss", "-tanH", "state", "time-wait", "src", ep(local[0], local[1])],
                         capture_output=True, text=True).stdout
    if ep(a.host, a.port) not in out:
        fail(f"client close: Linux side not in TIME-WAIT after closing first: {out!r}")
    print("ok: Linux closed first and holds TIME-WAIT; synack answered FIN with FIN", flush=True)


def cmd_server_close(a):
    # synack closes first (--close-port): Linux sees the FIN, closes, and ends in CLOSED (no TIME-WAIT here).
    for i in range(a.count):
        s = socket.create_connection((a.host, a.port), timeout=5)
        got = b""
        while True:
            b = s.recv(100)
            if not b:
                break
            got += b
        if got != b"bye\n":
            fail(f"server close: got {got!r}")
        local = s.getsockname()
        s.close()
        time.sleep(0.05)
        out = subprocess.run(["ss", "-tanH", "state", "time-wait", "src", ep(local[0], local[1]),
                              "dst", ep(a.host, a.port)], capture_output=True, text=True).stdout
        if out.strip():
            fail(f"server close: Linux must not hold TIME-WAIT when synack closed first: {out!r}")
    print(f"ok: synack closed first on {a.count} connections; Linux got 'bye' + FIN and holds no TIME-WAIT",
          flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name, fn in [("bulk", cmd_bulk), ("sequential", cmd_sequential), ("concurrent", cmd_concurrent),
                     ("refused", cmd_refused), ("client-close", cmd_client_close),
                     ("server-close", cmd_server_close)]:
        sp = sub.add_parser(name)
        sp.add_argument("--port", type=int, required=True)
        sp.add_argument("--size", type=int, default=10 * 1000 * 1000)
        sp.add_argument("--count", type=int, default=1000)
        sp.set_defaults(fn=fn)
    a = p.parse_args()
    try:
        a.fn(a)
    except (OSError, socket.timeout) as e:
        fail(f"{a.cmd}: {e!r}")


if __name__ == "__main__":
    main()
