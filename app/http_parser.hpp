// An HTTP/1.1 request parser for synack-http (RFC 9112 message syntax, RFC 9110 semantics), kept apart from the
// server so that it can be tested on bytes alone. It never allocates and never copies: the request it returns
// points into the caller's buffer.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace synack::http {

enum class Method : uint8_t { get, head };

struct Limits {
    size_t max_header_bytes = 8192;  ///< request line + fields + the empty line; beyond it: 413
    size_t max_body_bytes = 65536;   ///< a request body above this: 413 (skipped otherwise: GET and HEAD need none)
};

/// What parse() found at the front of the buffer.
enum class Status : uint8_t {
    complete,     ///< `request` is filled; `request.length` bytes (head and body) belong to it
    incomplete,   ///< need more bytes (the head seen so far is within the limit)
    bad_request,  ///< 400: malformed request line or field, bad version, HTTP/1.1 without Host, ...
    not_allowed,  ///< 405: a well-formed method other than GET and HEAD (its body, if any, was measured)
    too_large,    ///< 413: head or body above the limits
};

struct Request {
    Method method = Method::get;
    std::string_view target;  ///< as sent (origin-form: starts with '/')
    bool keep_alive = true;   ///< HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with "Connection: keep-alive"
    size_t length = 0;        ///< bytes of this request (head + body): where the next pipelined one starts
};

/// Parses the request at the front of `buf`. For not_allowed, `request.length` and `keep_alive` are set too (the
/// body has arrived and is skipped), so the connection may carry on.
Status parse(std::string_view buf, const Limits& limits, Request& request) noexcept;

/// The file a target names under a document root: strips the query, decodes %XX, refuses (false) a ".." segment,
/// NUL, a backslash, malformed escapes or a target not starting with '/'. "/" and names ending in '/' get
/// "index.html". `out` is relative (no leading '/').
bool safe_path(std::string_view target, std::string& out);
/// The same with a caller-owned scratch string for the decoded target (no allocation once both have capacity).
bool safe_path(std::string_view target, std::string& out, std::string& decoded);

const char* reason(int status) noexcept;

}  // namespace synack::http
