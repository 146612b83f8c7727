// The HTTP/1.1 request parser of synack-http: complete, split and pipelined requests, every refusal with its
// status, keep-alive rules, and the document-root path check.
#include <gtest/gtest.h>

#include <string>

#include "../app/http_parser.hpp"

using synack::http::Limits;
using synack::http::Method;
using synack::http::parse;
using synack::http::Request;
using synack::http::safe_path;
using synack::http::Status;

namespace {
const std::string kGet = "GET /index.html HTTP/1.1\r\nHost: a\r\nUser-Agent: t\r\n\r\n";

Status p(const std::string& s, Request& r, Limits l = {}) { return parse(s, l, r); }
}  // namespace

TEST(HttpParser, CompleteGet) {
    Request r;
    ASSERT_EQ(p(kGet, r), Status::complete);
    EXPECT_EQ(r.method, Method::get);
    EXPECT_EQ(r.target, "/index.html");
    EXPECT_TRUE(r.keep_alive);
    EXPECT_EQ(r.length, kGet.size());
}

TEST(HttpParser, HeadAndCaseInsensitiveFields) {
    Request r;
    ASSERT_EQ(p("HEAD / HTTP/1.1\r\nhOsT: x\r\nCONNECTION: Close\r\n\r\n", r), Status::complete);
    EXPECT_EQ(r.method, Method::head);
    EXPECT_FALSE(r.keep_alive);
}

TEST(HttpParser, EveryPrefixOfARequestIsIncomplete) {
    Request r;
    for (size_t n = 0; n < kGet.size(); ++n)
        EXPECT_EQ(p(kGet.substr(0, n), r), Status::incomplete) << "prefix of " << n << " bytes";
    EXPECT_EQ(p(kGet, r), Status::complete);
}

TEST(HttpParser, PipelinedRequestsParseOneAfterAnother) {
    const std::string two = kGet + "GET /b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /c";
    Request r;
    ASSERT_EQ(p(two, r), Status::complete);
    EXPECT_EQ(r.target, "/index.html");
    std::string rest = two.substr(r.length);
    ASSERT_EQ(p(rest, r), Status::complete);
    EXPECT_EQ(r.target, "/b");
    EXPECT_FALSE(r.keep_alive);
    rest = rest.substr(r.length);
    EXPECT_EQ(rest, "GET /c");
    EXPECT_EQ(p(rest, r), Status::incomplete);
}

TEST(HttpParser, LeadingEmptyLinesAreSkipped) {
    Request r;
    ASSERT_EQ(p("\r\n\r\n" + kGet, r), Status::complete);
    EXPECT_EQ(r.length, kGet.size() + 4);
}

TEST(HttpParser, Http10KeepAliveOnlyWhenAsked) {
    Request r;
    ASSERT_EQ(p("GET / HTTP/1.0\r\n\r\n", r), Status::complete);
    EXPECT_FALSE(r.keep_alive);
    ASSERT_EQ(p("GET / HTTP/1.0\r\nConnection: foo, Keep-Alive\r\n\r\n", r), Status::complete);
    EXPECT_TRUE(r.keep_alive);
}

TEST(HttpParser, BadRequests) {
    Request r;
    const char* bad[] = {
        "GET /\r\nHost: a\r\n\r\n",                       // no version
        "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",             // two spaces
        "GET / HTTP/1.1 x\r\nHost: a\r\n\r\n",            // trailing junk
        "GET / HTTP/2.0\r\nHost: a\r\n\r\n",              // unsupported version
        "GET / http/1.1\r\nHost: a\r\n\r\n",              // version is case-sensitive
        "GET index.html HTTP/1.1\r\nHost: a\r\n\r\n",     // not origin-form
        "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",              // method not a token
        "GET / HTTP/1.1\r\n\r\n",                         // HTTP/1.1 without Host
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",   // two Hosts
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",             // space before the colon
        "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",   // obs-fold
        "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n",          // control character in a value
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n12",
        "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
    };
    for (const char* b : bad) EXPECT_EQ(p(b, r), Status::bad_request) << b;
}

TEST(HttpParser, MethodsOtherThanGetAndHeadAre405WithTheirExtent) {
    Request r;
    const std::string post = "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
    Limits l;
    l.max_body_bytes = 16;
    EXPECT_EQ(p(post.substr(0, post.size() - 1), r, l), Status::incomplete);  // body still arriving
    ASSERT_EQ(p(post + "GET", r, l), Status::not_allowed);
    EXPECT_EQ(r.length, post.size());
    for (const char* m : {"PUT", "DELETE", "OPTIONS", "PATCH", "BREW"})
        EXPECT_EQ(p(std::string(m) + " / HTTP/1.1\r\nHost: a\r\n\r\n", r), Status::not_allowed) << m;
}

TEST(HttpParser, OversizedHeadIs413EvenBeforeItEnds) {
    Limits l;
    l.max_header_bytes = 256;
    Request r;
    const std::string big = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(300, 'z');
    EXPECT_EQ(p(big, r, l), Status::too_large);  // no CRLFCRLF yet, already past the limit
    EXPECT_EQ(p(big.substr(0, 200), r, l), Status::incomplete);
    const std::string fits = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(200, 'z') + "\r\n\r\n";
    EXPECT_EQ(p(fits, r, l), Status::complete);
}

TEST(HttpParser, BodyAboveTheLimitIs413) {
    Request r;
    Limits l;
    l.max_body_bytes = 10;
    EXPECT_EQ(p("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", r, l), Status::too_large);
    EXPECT_EQ(p("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", r, l),
              Status::too_large);
    ASSERT_EQ(p("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789", r, l), Status::complete);
    EXPECT_EQ(r.length, 57u);  // 16 + 9 + 20 + 2 of head, 10 of body
}

TEST(HttpParser, SafePathRefusesTraversal) {
    std::string out;
    for (const char* t : {"/..", "/../etc/passwd", "/a/../../b", "/%2e%2e/x", "/a/%2E%2E", "/a\\b", "/a%00b", "/%zz",
                          "/a%2", "x", ""})
        EXPECT_FALSE(safe_path(t, out)) << t;
}

TEST(HttpParser, SafePathNormalises) {
    std::string out;
    ASSERT_TRUE(safe_path("/", out));
    EXPECT_EQ(out, "index.html");
    ASSERT_TRUE(safe_path("/a//b/./c.txt?x=../..", out));
    EXPECT_EQ(out, "a/b/c.txt");
    ASSERT_TRUE(safe_path("/dir/", out));
    EXPECT_EQ(out, "dir/index.html");
    ASSERT_TRUE(safe_path("/a%20b..c", out));
    EXPECT_EQ(out, "a b..c");
}

TEST(HttpParser, SafePathWithReusedBuffersKeepsNothingFromBefore) {
    std::string out = "stale/out", scratch = "/stale/../scratch";
    ASSERT_TRUE(safe_path("/a/b.txt", out, scratch));
    EXPECT_EQ(out, "a/b.txt");
    EXPECT_FALSE(safe_path("/a/../../x", out, scratch));
    ASSERT_TRUE(safe_path("/c", out, scratch));
    EXPECT_EQ(out, "c");
}
