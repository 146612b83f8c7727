"""Raw-socket checks for synack-http: exact status codes for bad requests, pipelining, keep-alive after a 405,
HEAD, and the server closing after Connection: close. Usage: http_raw.py HOST PORT FILE_SIZE. Exit status 1 on the
first failed check."""
import socket
import sys

HOST, PORT, FILE_SIZE = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def exchange(data, expect_responses, timeout=3.0):
    """Sends data on a fresh connection and reads until expect_responses full responses arrived or the peer closed.
    Returns (list of (status, headers dict, body), closed_by_server)."""
    s = socket.create_connection((HOST, PORT), timeout=timeout)
    s.sendall(data)
    buf, out, closed = b"", [], False
    while len(out) < expect_responses or expect_responses == 0:
        while True:  # parse what we have
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buf[:end].decode()
            lines = head.split("\r\n")
            status = int(lines[0].split()[1])
            headers = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
            n = int(headers["content-length"])
            body_len = 0 if out_is_head(data, len(out)) else n
            if len(buf) < end + 4 + body_len:
                break
            out.append((status, headers, buf[end + 4:end + 4 + body_len]))
            buf = buf[end + 4 + body_len:]
        if len(out) >= expect_responses and expect_responses:
            break
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            closed = True
            break
        buf += chunk
    if not closed:
        s.settimeout(1.0)
        try:
            closed = s.recv(1) == b""
        except socket.timeout:
            closed = False
    s.close()
    return out, closed


def out_is_head(data, i):
    reqs = [r for r in data.split(b"\r\n\r\n") if r.strip()]
    return i < len(reqs) and reqs[i].lstrip().startswith(b"HEAD ")


failures = 0


def check(what, cond):
    global failures
    print(("  ok: " if cond else "  FAIL: ") + what)
    if not cond:
        failures += 1


def status_of(req):
    r, closed = exchange(req, 1)
    return (r[0][0] if r else None), closed


G = b"GET %s HTTP/1.1\r\nHost: t\r\n\r\n"
# Bad requests: exact codes; 400 and 413 close the connection.
st, closed = status_of(b"GARBAGE\r\n\r\n")
check(f"malformed request line -> 400 and close (got {st}, closed {closed})", st == 400 and closed)
st, closed = status_of(b"GET / HTTP/1.1\r\n\r\n")
check(f"HTTP/1.1 without Host -> 400 (got {st})", st == 400 and closed)
st, closed = status_of(b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
check(f"9000-byte field -> 413 and close (got {st}, closed {closed})", st == 413 and closed)
st, _ = status_of(G % b"/nope.html")
check(f"missing file -> 404 (got {st})", st == 404)
for t in (b"/../etc/passwd", b"/%2e%2e/%2e%2e/etc/passwd", b"/sub/../../etc/passwd"):
    st, _ = status_of(G % t)
    check(f"traversal {t.decode()} -> 404 (got {st})", st == 404)
# 405 keeps the connection: the next pipelined request is still answered.
r, closed = exchange(b"DELETE /x HTTP/1.1\r\nHost: t\r\n\r\nPOST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
                     + G % b"/index.html", 3)
codes = [x[0] for x in r]
check(f"DELETE, POST -> 405 405 with Allow, then GET -> 200 on one connection (got {codes})",
      codes == [405, 405, 200] and r[0][1].get("allow") == "GET, HEAD" and not closed)
# Pipelining: three requests in one segment, answered in order.
r, closed = exchange(G % b"/sub/blob.bin" + G % b"/index.html" + b"HEAD /sub/blob.bin HTTP/1.1\r\nHost: t\r\n"
                     b"Connection: close\r\n\r\n", 3)
sizes = [(x[0], len(x[2]), x[1].get("content-length")) for x in r]
check(f"pipelined blob, index, HEAD blob in order (got {sizes})",
      len(r) == 3 and sizes[0] == (200, FILE_SIZE, str(FILE_SIZE)) and sizes[1][0] == 200 and
      sizes[2] == (200, 0, str(FILE_SIZE)))
check(f"Connection: close answered with Connection: close and the server closes (closed {closed})",
      len(r) == 3 and r[2][1].get("connection") == "close" and closed)
# Date and Content-Length on every answer; Date in IMF-fixdate.
r, _ = exchange(G % b"/index.html", 1)
d = r[0][1].get("date", "") if r else ""
check(f"Date in IMF-fixdate ({d})", d.endswith(" GMT") and len(d) == 29)
# A request split across segments.
s = socket.create_connection((HOST, PORT), timeout=3)
for piece in (b"GE", b"T /index.html HTTP/1.1\r", b"\nHost: t\r\n", b"\r\n"):
    s.sendall(piece)
    import time
    time.sleep(0.05)
resp = s.recv(65536)
s.close()
check(f"request split in 4 segments -> 200 ({resp[:15]!r})", resp.startswith(b"HTTP/1.1 200 OK"))
# A pipelined flood larger than what the server reads at once: every answer still comes, in order.
N = 5000
s = socket.create_connection((HOST, PORT), timeout=10)
s.sendall((G % b"/index.html") * (N - 1) + b"GET /index.html HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
data = b""
try:
    while True:
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        data += chunk
except socket.timeout:
    pass
s.close()
got = data.count(b"HTTP/1.1 200 OK\r\n")
check(f"{N} pipelined requests in one burst -> {N} answers and a close (got {got})", got == N)
print(f"http_raw: {failures} failure(s)")
sys.exit(1 if failures else 0)
