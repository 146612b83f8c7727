// synack-http: an HTTP/1.1 server on synack, one worker per lcore (each core listens and serves the connections
// it owns). Keep-alive, `Connection: close`, pipelining (answers in order, gathered and handed over with one send;
// parsing pauses while the send buffer is full), a fixed body or files from a directory, `Date` and
// `Content-Length`; 400/404/405/413 for bad requests.
//
//   synack-http [EAL] -- --ip 10.9.0.1/24 [--port 80] [--body-size N | --root DIR] [--max-header N] [--max-body N]
//                        [--cache-mb N]
//
// --body-size N (default 64): every GET answers N bytes of 'x' (text/plain) whatever the path, as the wrk
// benchmarks of other stacks do. --root DIR: serves DIR's regular files (no path traversal: a ".." segment is a
// 404, no symlink leads out of DIR either); each file is read once on its first request and kept in memory
// (the only system calls after start-up), up to --cache-mb (256) per core: a file beyond that is a 500, counted.
// --max-header N bounds a request's head (default 8192), --max-body N its
// body (default 65536, read and skipped): beyond them 413.
// At exit: requests per status and each core's busy share (loop iterations that moved packets), with requests
// per busy core-second.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "extra_args.hpp"
#include "http_parser.hpp"
#include "synack/stack.hpp"

namespace {

namespace http = synack::http;

struct Config {
    uint32_t body_size = 64;
    std::string root;  // empty: the fixed body
    int root_fd = -1;
    uint64_t cache_bytes = 256ull << 20;  // --cache-mb: files held in memory per core
    http::Limits limits;
};

// What the send buffer did not take yet: copied bytes first, then the rest of a large body (files stay in place).
struct Pending {
    std::string spill;
    size_t spill_off = 0;
    const std::string* body = nullptr;
    size_t body_off = 0;
    bool active = false;
};

struct Conn {
    std::string in;  // received bytes not yet answered (capacity kept from one connection to the next)
    Pending out;
    bool open = false;
    bool peer_done = false;
    bool close_after = false;  // the last answer composed said Connection: close
};

struct alignas(64) PerCore {
    const Config* cfg = nullptr;
    std::vector<Conn> conns;  // by connection index
    std::string fixed;        // the --body-size body
    std::unordered_map<std::string, std::unique_ptr<std::string>> files;  // --root cache (per core: no locks)
    std::string rel, scratch;  // --root: the path asked for, kept to reuse their capacity
    uint64_t cached_bytes = 0, cache_full = 0;
    char date[40] = {};       // "Date: ...\r\n", rebuilt once a second
    uint64_t date_until = 0;
    // The --body-size answer whole (head and body; [0] keep-alive, [1] Connection: close), rebuilt with the Date
    // field: a GET costs one copy, not a formatted head.
    std::string canned[2];
    bool canned_stale = true;
    uint64_t requests = 0, by_status[6] = {};  // 200, 400, 404, 405, 413, other
    uint64_t accepted = 0;
    char buf[16384];
    // Answers are gathered here and handed to the connection with one send: a pipelined burst (and a head with its
    // small body) leaves in as few segments as the MSS allows, not one per write.
    static constexpr size_t kGather = 32768;
    size_t wlen = 0;
    char wbuf[kGather];
};
constexpr unsigned kMaxCores = 128;
constexpr size_t kInlineBody = 4096;  // larger bodies are sent from where they are

unsigned status_slot(int s) {
    switch (s) {
    case 200: return 0;
    case 400: return 1;
    case 404: return 2;
    case 405: return 3;
    case 413: return 4;
    default: return 5;
    }
}

// RFC 9110 §6.6.1: Date in IMF-fixdate; a second's resolution, so it is formatted once a second.
const char* date_field(synack::Core& core, PerCore& pc) {
    if (core.now_cycles() >= pc.date_until) {
        const time_t t = time(nullptr);
        tm g{};
        gmtime_r(&t, &g);
        strftime(pc.date, sizeof pc.date, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &g);
        pc.date_until = core.now_cycles() + core.cycles_hz() / 4;
        pc.canned_stale = true;
    }
    return pc.date;
}

const std::string kCacheFull;  // file()'s answer for a file that exists but cannot be held

// A file under --root, read on first use; nullptr when it is not a regular file there, &kCacheFull when it is one
// that could not be read or would take the core's cache beyond --cache-mb.
const std::string* file(PerCore& pc, const std::string& rel) {
    auto it = pc.files.find(rel);
    if (it != pc.files.end()) return it->second.get();
    // RESOLVE_BENEATH: the kernel refuses any path (symlinks included) that would leave the root.
    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    const int fd = static_cast<int>(syscall(SYS_openat2, pc.cfg->root_fd, rel.c_str(), &how, sizeof how));
    std::unique_ptr<std::string> data;
    bool regular = false;
    if (fd >= 0) {
        struct stat st {};
        regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
        if (regular && pc.cached_bytes + static_cast<uint64_t>(st.st_size) <= pc.cfg->cache_bytes) {
            data = std::make_unique<std::string>(static_cast<size_t>(st.st_size), '\0');
            size_t got = 0;
            while (got < data->size()) {
                const ssize_t n = read(fd, data->data() + got, data->size() - got);
                if (n <= 0) break;
                got += static_cast<size_t>(n);
            }
            if (got != data->size()) data.reset();
        }
        ::close(fd);
    }
    const std::string* p = data.get();
    if (p != nullptr) {
        pc.cached_bytes += p->size();
        pc.files.emplace(rel, std::move(data));  // misses are not cached: files may appear later
    } else if (regular) {
        ++pc.cache_full;  // a file there, but not readable or beyond the cache: 500, counted
        return &kCacheFull;
    }
    return p;
}

// Hands the gathered answers to the connection; what does not fit waits in c.out for a writable event.
void flush(synack::Core& core, PerCore& pc, synack::ConnId id, Conn& c) {
    if (pc.wlen == 0) return;
    const int32_t n = std::max<int32_t>(0, core.send(id, pc.wbuf, static_cast<uint32_t>(pc.wlen)));
    if (static_cast<size_t>(n) < pc.wlen) {
        c.out.spill.append(pc.wbuf + n, pc.wlen - static_cast<size_t>(n));
        c.out.active = true;
    }
    pc.wlen = 0;
}

void emit(synack::Core& core, PerCore& pc, synack::ConnId id, Conn& c, const char* p, size_t n) {
    if (!c.out.active && pc.wlen + n > PerCore::kGather) flush(core, pc, id, c);
    if (c.out.active || n > PerCore::kGather) {
        c.out.spill.append(p, n);  // rare: the send buffer is full, or one piece larger than the gather buffer
        c.out.active = true;
        return;
    }
    std::memcpy(pc.wbuf + pc.wlen, p, n);
    pc.wlen += n;
}

// The status line and fields of an answer into h (512 bytes); its length.
size_t head(synack::Core& core, PerCore& pc, char* h, int status, size_t body_size, bool keep_alive) {
    const int n = std::snprintf(h, 512,
                                "HTTP/1.1 %d %s\r\nServer: synack\r\n%sContent-Type: %s\r\nContent-Length: %zu\r\n%s%s\r\n",
                                status, http::reason(status), date_field(core, pc),
                                status == 200 && !pc.cfg->root.empty() ? "application/octet-stream" : "text/plain",
                                body_size, status == 405 ? "Allow: GET, HEAD\r\n" : "",
                                keep_alive ? "" : "Connection: close\r\n");
    return static_cast<size_t>(n);
}

void count(PerCore& pc, Conn& c, int status, bool keep_alive) {
    c.close_after = !keep_alive;
    ++pc.requests;
    ++pc.by_status[status_slot(status)];
}

// A GET of the --body-size body: the canned answer, rebuilt when the Date field changed.
void respond_fixed(synack::Core& core, PerCore& pc, synack::ConnId id, Conn& c, bool keep_alive) {
    date_field(core, pc);
    if (pc.canned_stale) {
        char h[512];
        for (int close = 0; close < 2; ++close) {
            pc.canned[close].assign(h, head(core, pc, h, 200, pc.fixed.size(), close == 0));
            pc.canned[close] += pc.fixed;
        }
        pc.canned_stale = false;
    }
    const std::string& a = pc.canned[keep_alive ? 0 : 1];
    emit(core, pc, id, c, a.data(), a.size());
    count(pc, c, 200, keep_alive);
}

void respond(synack::Core& core, PerCore& pc, synack::ConnId id, Conn& c, int status, const std::string* body,
             bool head_only, bool keep_alive) {
    static const std::string kErrorBodies[] = {"", "bad request\n", "not found\n", "method not allowed\n",
                                               "content too large\n", "error\n"};
    if (status != 200) body = &kErrorBodies[status_slot(status)];
    char h[512];
    emit(core, pc, id, c, h, head(core, pc, h, status, body->size(), keep_alive));
    if (!head_only && body->size() <= kInlineBody) {
        emit(core, pc, id, c, body->data(), body->size());
    } else if (!head_only) {
        flush(core, pc, id, c);
        c.out.body = body;
        c.out.body_off = 0;
        c.out.active = true;  // push() sends it after whatever spilled
    }
    count(pc, c, status, keep_alive);
}

// Moves what waits in c.out into the send buffer; true when all of it went.
bool push(synack::Core& core, synack::ConnId id, Conn& c) {
    Pending& o = c.out;
    while (o.spill_off < o.spill.size()) {
        const int32_t n = core.send(id, o.spill.data() + o.spill_off, static_cast<uint32_t>(o.spill.size() - o.spill_off));
        if (n <= 0) return false;
        o.spill_off += static_cast<size_t>(n);
    }
    o.spill.clear();
    o.spill_off = 0;
    while (o.body != nullptr && o.body_off < o.body->size()) {
        const size_t left = o.body->size() - o.body_off;
        const int32_t n = core.send(id, o.body->data() + o.body_off, static_cast<uint32_t>(std::min<size_t>(left, 1u << 20)));
        if (n <= 0) return false;
        o.body_off += static_cast<size_t>(n);
    }
    o.body = nullptr;
    o.active = false;
    return true;
}

void answer(synack::Core& core, PerCore& pc, synack::ConnId id, Conn& c, const http::Request& r) {
    const bool head_only = r.method == http::Method::head;
    if (pc.cfg->root.empty()) {
        if (!head_only && pc.fixed.size() <= kInlineBody) return respond_fixed(core, pc, id, c, r.keep_alive);
        return respond(core, pc, id, c, 200, &pc.fixed, head_only, r.keep_alive);
    }
    const std::string* f = http::safe_path(r.target, pc.rel, pc.scratch) ? file(pc, pc.rel) : nullptr;
    respond(core, pc, id, c, f == nullptr ? 404 : f == &kCacheFull ? 500 : 200, f, head_only, r.keep_alive);
}

// Composes the answers to the complete requests in c.in, until one must wait for send space or says close.
void answer_all(synack::Core& core, PerCore& pc, synack::ConnId id, Conn& c) {
    size_t off = 0;  // consumed requests are erased once at the end, not one memmove each
    while (!c.close_after && !c.out.active && off < c.in.size()) {
        http::Request r;
        const http::Status st = http::parse(std::string_view(c.in).substr(off), pc.cfg->limits, r);
        if (st == http::Status::incomplete) break;
        switch (st) {
        case http::Status::complete:
            answer(core, pc, id, c, r);
            off += r.length;
            break;
        case http::Status::not_allowed:
            respond(core, pc, id, c, 405, nullptr, false, r.keep_alive);
            off += r.length;
            break;
        default:  // 400 and 413: the rest of the stream cannot be trusted; answer and close
            respond(core, pc, id, c, st == http::Status::too_large ? 413 : 400, nullptr, false, false);
            off = c.in.size();
            break;
        }
    }
    c.in.erase(0, off);
}

// Answers the requests waiting in c.in, in order, as far as the send buffer allows.
void serve(synack::Core& core, PerCore& pc, synack::ConnId id, Conn& c) {
    for (;;) {
        if (c.out.active && !push(core, id, c)) return;  // a writable event brings us back
        answer_all(core, pc, id, c);
        flush(core, pc, id, c);
        if (!c.out.active) break;  // else: a large body or a spill waits; push it before parsing on
    }
    // Closing after the last answer, or once the client half-closed and every complete request it sent is answered
    // (a partial one left in c.in will never be completed).
    if (c.close_after || (c.peer_done && core.readable_bytes(id) == 0)) {
        c.in.clear();
        core.close(id);
        c.open = false;
    }
}

// Reads what arrived, but never more than one head limit beyond what waits: the parser says 413 before that.
void receive(synack::Core& core, PerCore& pc, synack::ConnId id, Conn& c) {
    const size_t cap = pc.cfg->limits.max_header_bytes + pc.cfg->limits.max_body_bytes + sizeof pc.buf;
    while (c.in.size() < cap) {
        const int32_t n = core.recv(id, pc.buf, sizeof pc.buf);
        if (n <= 0) break;
        c.in.append(pc.buf, static_cast<size_t>(n));
    }
}

void on_start(synack::Core& core, void* ctx) {
    PerCore& pc = static_cast<PerCore*>(ctx)[core.index()];
    pc.conns.resize(core.options().tcp.max_connections);
    pc.fixed.assign(pc.cfg->body_size, 'x');
    if (core.listen(core.options().port) < 0) {
        std::fprintf(stderr, "synack-http: listen on port %u failed\n", core.options().port);
        core.stop();
        return;
    }
    if (core.index() == 0) {
        std::printf("synack-http: listening on %s:%u with %u core(s), %s\n",
                    synack::ip_to_string(core.options().ip).c_str(), core.options().port, core.workers(),
                    pc.cfg->root.empty() ? ("a " + std::to_string(pc.cfg->body_size) + "-byte body").c_str()
                                         : ("files from " + pc.cfg->root).c_str());
        std::fflush(stdout);
    }
}

void on_event(synack::Core& core, const synack::Event& ev, void* ctx) {
    PerCore& pc = static_cast<PerCore*>(ctx)[core.index()];
    if (ev.conn.index >= pc.conns.size()) return;
    Conn& c = pc.conns[ev.conn.index];
    switch (ev.type) {
    case synack::EventType::accepted:
        ++pc.accepted;
        c.in.clear();
        c.out = Pending{};
        c.open = true;
        c.peer_done = false;
        c.close_after = false;
        break;
    case synack::EventType::readable:
    case synack::EventType::writable:
    case synack::EventType::peer_closed:
        if (!c.open) {  // closed by us (after Connection: close or an error): drop whatever still comes
            if (rte_mbuf* m = core.recv_chain(ev.conn)) rte_pktmbuf_free(m);
            break;
        }
        if (ev.type == synack::EventType::peer_closed) c.peer_done = true;
        // receive() stops at a bound; what it left in the receive buffer raises no new readable event (the engine
        // signals new data only), so once those requests are answered take the rest now. Each round answers at
        // least one request or closes.
        for (int round = 0; round < 64; ++round) {
            receive(core, pc, ev.conn, c);
            serve(core, pc, ev.conn, c);
            if (!c.open || c.out.active || core.readable_bytes(ev.conn) == 0) break;
        }
        break;
    default:  // closed, reset, timed out: the slot is free again
        c.open = false;
        c.out = Pending{};
        c.in.clear();
        if (c.in.capacity() > PerCore::kGather) std::string().swap(c.in);  // a large burst's buffer is not kept
        break;
    }
}

}  // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
            std::printf("usage: synack-http [EAL options] -- --ip A.B.C.D/LEN [--port N] [--body-size N | --root DIR] "
                        "[--max-header N] [--max-body N] [--cache-mb N]\n%s",
                        synack::options_help());
            return 0;
        }
    try {
        const synack::Options pre = synack::Stack::options_from(argc, argv);  // checked before EAL starts
        Config cfg;
        const auto& extra = pre.extra;
        auto value = [&](size_t& i) { return synack::app::next_value(extra, i); };
        auto number = [&](size_t& i, uint32_t lo, uint32_t hi) { return synack::app::next_number(extra, i, lo, hi); };
        bool sized = false;
        for (size_t i = 0; i < extra.size(); ++i) {
            const std::string& a = extra[i];
            if (a == "--body-size") {
                cfg.body_size = number(i, 0, 64u << 20);
                sized = true;
            } else if (a == "--root") {
                cfg.root = value(i);
            } else if (a == "--max-header") {
                cfg.limits.max_header_bytes = number(i, 256, 1u << 20);
            } else if (a == "--cache-mb") {
                cfg.cache_bytes = static_cast<uint64_t>(number(i, 1, 1u << 20)) << 20;
            } else if (a == "--max-body") {
                cfg.limits.max_body_bytes = number(i, 0, 16u << 20);
            } else {
                throw std::invalid_argument("unknown option '" + a + "' (see --help)");
            }
        }
        if (sized && !cfg.root.empty()) throw std::invalid_argument("say either --body-size or --root");
        if (!cfg.root.empty()) {
            cfg.root_fd = open(cfg.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (cfg.root_fd < 0)
                throw std::invalid_argument("--root " + cfg.root + ": " + std::strerror(errno));
        }
        if (pre.port == 0) throw std::invalid_argument("--port N is required");
        synack::Stack stack(argc, argv);
        static PerCore per_core[kMaxCores];
        for (PerCore& pc : per_core) pc.cfg = &cfg;
        synack::App app{per_core, on_start, on_event, nullptr};
        stack.run(app);

        uint64_t req = 0, acc = 0, st[6] = {};
        for (const PerCore& pc : per_core) {
            req += pc.requests;
            acc += pc.accepted;
            for (int i = 0; i < 6; ++i) st[i] += pc.by_status[i];
        }
        std::printf("synack-http: %" PRIu64 " connections, %" PRIu64 " requests (200: %" PRIu64 ", 400: %" PRIu64
                    ", 404: %" PRIu64 ", 405: %" PRIu64 ", 413: %" PRIu64 ", 500: %" PRIu64 ")\n",
                    acc, req, st[0], st[1], st[2], st[3], st[4], st[5]);
        const synack::CoreStats t = stack.totals();
        const double hz = static_cast<double>(rte_get_tsc_hz());
        const double busy_s = static_cast<double>(t.busy_cycles) / hz;
        std::printf("synack-http: busy %.3f s of %.3f core-s (%.1f%%), %.0f requests per busy core-second\n", busy_s,
                    static_cast<double>(t.loop_cycles) / hz,
                    t.loop_cycles ? 100.0 * static_cast<double>(t.busy_cycles) / static_cast<double>(t.loop_cycles) : 0.0,
                    busy_s > 0 ? static_cast<double>(req) / busy_s : 0.0);
        if (stack.options().verbose) std::printf("%s", stack.counters_report().c_str());
        if (cfg.root_fd >= 0) close(cfg.root_fd);
        return 0;
    } catch (const std::exception& ex) {
        std::fprintf(stderr, "synack-http: error: %s\n", ex.what());
        return 1;
    }
}
