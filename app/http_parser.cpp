#include "http_parser.hpp"

#include <algorithm>

namespace synack::http {
namespace {

// RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
// / DIGIT / ALPHA.
bool tchar(char c) noexcept {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-': case '.':
    case '^': case '_': case '`': case '|': case '~':
        return true;
    default:
        return false;
    }
}

bool token(std::string_view s) noexcept { return !s.empty() && std::all_of(s.begin(), s.end(), tchar); }

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

std::string_view trim(std::string_view s) noexcept {  // OWS = *( SP / HTAB )
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// field-value (RFC 9110 §5.5): visible characters, SP, HTAB and obs-text; no other control character.
bool field_value(std::string_view v) noexcept {
    for (char c : v) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
    }
    return true;
}

// The request-target in origin-form (RFC 9112 §3.2.1), or "*" (for OPTIONS): no whitespace or control characters.
bool target_ok(std::string_view t) noexcept {
    if (t.empty() || (t[0] != '/' && t != "*")) return false;
    for (char c : t) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f) return false;
    }
    return true;
}

// What the fields say, as far as this server cares.
struct Fields {
    int hosts = 0;
    bool close = false, keep_alive = false, chunked = false;
    bool has_length = false;
    uint64_t content_length = 0;
};

// Connection: a comma-separated list of options (RFC 9110 §7.6.1).
void connection_options(std::string_view v, Fields& f) noexcept {
    while (!v.empty()) {
        const size_t comma = v.find(',');
        const std::string_view opt = trim(v.substr(0, comma));
        if (iequals(opt, "close")) f.close = true;
        if (iequals(opt, "keep-alive")) f.keep_alive = true;
        if (comma == std::string_view::npos) break;
        v.remove_prefix(comma + 1);
    }
}

// One field line; false means 400 (413 when `too_large` was set: a Content-Length too long to hold).
bool field(std::string_view line, Fields& f, bool& too_large) noexcept {
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return false;
    const std::string_view name = line.substr(0, colon);
    if (!token(name)) return false;  // also refuses whitespace before the colon (RFC 9112 §5.1) and obs-fold
    const std::string_view value = trim(line.substr(colon + 1));
    if (!field_value(value)) return false;
    if (iequals(name, "host")) {
        ++f.hosts;
    } else if (iequals(name, "connection")) {
        connection_options(value, f);
    } else if (iequals(name, "transfer-encoding")) {
        f.chunked = true;  // RFC 9112 §6.1: we do not decode request transfer codings; refused below
    } else if (iequals(name, "content-length")) {
        // RFC 9112 §6.3: 1*DIGIT; several differing values are an error.
        if (value.empty() || value.size() > 19) {
            too_large = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
            return too_large;
        }
        uint64_t n = 0;
        for (char c : value) {
            if (c < '0' || c > '9') return false;
            n = n * 10 + static_cast<uint64_t>(c - '0');
        }
        if (f.has_length && n != f.content_length) return false;
        f.has_length = true;
        f.content_length = n;
    }
    return true;
}

}  // namespace

Status parse(std::string_view buf, const Limits& limits, Request& req) noexcept {
    req = Request{};
    // RFC 9112 §2.2: ignore empty lines before the request line.
    size_t skip = 0;
    while (buf.size() >= skip + 2 && buf[skip] == '\r' && buf[skip + 1] == '\n') skip += 2;
    const std::string_view msg = buf.substr(skip);
    const size_t window = std::min(msg.size(), limits.max_header_bytes);
    const size_t end = msg.substr(0, window).find("\r\n\r\n");
    if (end == std::string_view::npos) {
        if (msg.size() >= limits.max_header_bytes) return Status::too_large;
        // Anything but a request line prefix so far cannot become valid: say so before the head is complete.
        return Status::incomplete;
    }
    const size_t head_len = end + 4;
    std::string_view head = msg.substr(0, end + 2);  // every line with its CRLF

    // request-line = method SP request-target SP HTTP-version (RFC 9112 §3)
    const size_t eol = head.find("\r\n");
    const std::string_view line = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    const size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos) return Status::bad_request;
    const size_t sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) return Status::bad_request;
    const std::string_view method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1),
                           version = line.substr(sp2 + 1);
    if (!token(method) || !target_ok(target)) return Status::bad_request;
    bool http11;
    if (version == "HTTP/1.1")
        http11 = true;
    else if (version == "HTTP/1.0")
        http11 = false;
    else
        return Status::bad_request;

    Fields f;
    bool too_large = false;
    while (!head.empty()) {
        const size_t e = head.find("\r\n");
        if (!field(head.substr(0, e), f, too_large)) return too_large ? Status::too_large : Status::bad_request;
        head.remove_prefix(e + 2);
    }
    if (http11 && f.hosts != 1) return Status::bad_request;  // RFC 9112 §3.2: exactly one Host in HTTP/1.1
    if (f.hosts > 1) return Status::bad_request;
    if (f.chunked) return Status::bad_request;
    if (too_large || f.content_length > limits.max_body_bytes) return Status::too_large;

    req.target = target;
    req.keep_alive = http11 ? !f.close : (f.keep_alive && !f.close);
    const uint64_t total = skip + head_len + f.content_length;
    if (buf.size() < total) return Status::incomplete;  // the body has not all arrived
    req.length = static_cast<size_t>(total);
    if (method == "GET") {
        req.method = Method::get;
        return Status::complete;
    }
    if (method == "HEAD") {
        req.method = Method::head;
        return Status::complete;
    }
    return Status::not_allowed;
}

bool safe_path(std::string_view target, std::string& out) {
    std::string decoded;
    return safe_path(target, out, decoded);
}

bool safe_path(std::string_view target, std::string& out, std::string& decoded) {
    out.clear();
    decoded.clear();
    if (target.empty() || target[0] != '/') return false;
    const size_t q = target.find_first_of("?#");
    if (q != std::string_view::npos) target = target.substr(0, q);
    for (size_t i = 0; i < target.size(); ++i) {
        char c = target[i];
        if (c == '%') {
            auto hex = [](char h) -> int {
                if (h >= '0' && h <= '9') return h - '0';
                if (h >= 'a' && h <= 'f') return h - 'a' + 10;
                if (h >= 'A' && h <= 'F') return h - 'A' + 10;
                return -1;
            };
            if (i + 2 >= target.size()) return false;  // a '%' needs two hex digits
            const int hi = hex(target[i + 1]), lo = hex(target[i + 2]);
            if (hi < 0 || lo < 0) return false;
            c = static_cast<char>(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0' || c == '\\') return false;
        decoded += c;
    }
    // Walk the segments: empty and "." ones vanish, ".." is refused outright (never resolved against the root).
    size_t pos = 1;
    while (pos <= decoded.size()) {
        size_t slash = decoded.find('/', pos);
        if (slash == std::string::npos) slash = decoded.size();
        const std::string_view seg(decoded.data() + pos, slash - pos);
        if (seg == "..") return false;
        if (!seg.empty() && seg != ".") {
            if (!out.empty()) out += '/';
            out.append(seg);
        }
        pos = slash + 1;
    }
    if (out.empty() || decoded.back() == '/') out += out.empty() ? "index.html" : "/index.html";
    return true;
}

const char* reason(int status) noexcept {
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 500: return "Internal Server Error";
    default: return "Unknown";
    }
}

}  // namespace synack::http
