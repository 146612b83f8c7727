#include "wire/tcp_options.hpp"

#include <rte_byteorder.h>

#include <cstring>

namespace synack::wire {
namespace {

uint16_t load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t load32(const uint8_t* p) {
    return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 | static_cast<uint32_t>(p[2]) << 8 | p[3];
}
void store16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
void store32(uint8_t* p, uint32_t v) {
    store16(p, static_cast<uint16_t>(v >> 16));
    store16(p + 2, static_cast<uint16_t>(v));
}

void parse_one(uint8_t kind, const uint8_t* p, uint8_t len, TcpOptions& out) {
    switch (kind) {
    case kOptMss:
        if (len == 4) {
            out.has_mss = true;
            out.mss = load16(p + 2);
        }
        break;
    case kOptWindowScale:
        if (len == 3) {
            out.has_wscale = true;
            out.wscale = p[2];
        }
        break;
    case kOptSackPermitted:
        if (len == 2) out.sack_permitted = true;
        break;
    case kOptTimestamps:
        if (len == 10) {
            out.has_timestamps = true;
            out.ts_val = load32(p + 2);
            out.ts_ecr = load32(p + 6);
        }
        break;
    case kOptSack:
        // RFC 2018 §3: 8 bytes per block, at most 4 blocks.
        if (len >= 10 && (len - 2) % 8 == 0 && static_cast<uint32_t>(len - 2) / 8 <= kMaxSackBlocks) {
            out.sack_count = static_cast<uint8_t>((len - 2) / 8);
            for (uint32_t i = 0; i < out.sack_count; ++i) {
                out.sack[i].left = load32(p + 2 + 8 * i);
                out.sack[i].right = load32(p + 6 + 8 * i);
            }
        }
        break;
    default:
        break;  // RFC 9293 §3.2 MUST-6: unknown options are skipped by their length.
    }
}

}  // namespace

bool parse_tcp_options(const uint8_t* p, uint32_t len, TcpOptions& out) noexcept {
    uint32_t i = 0;
    while (i < len) {
        uint8_t kind = p[i];
        if (kind == kOptEol) break;
        if (kind == kOptNop) {
            ++i;
            continue;
        }
        // RFC 9293 §3.2 MUST-7: be prepared for any option length, including illegal ones.
        if (i + 1 >= len) return false;
        uint8_t olen = p[i + 1];
        if (olen < 2 || i + olen > len) return false;
        parse_one(kind, p + i, olen, out);
        i += olen;
    }
    return true;
}

uint32_t tcp_options_size(const TcpOptions& o) noexcept {
    uint32_t n = 0;
    if (o.has_mss) n += 4;
    if (o.has_timestamps || o.sack_permitted) n += o.has_timestamps ? 12 : 4;
    if (o.has_wscale) n += 4;
    uint32_t blocks = o.sack_count;
    while (blocks > 0 && n + 4 + 8 * blocks > kMaxTcpOptionBytes) --blocks;  // as write_tcp_options() trims
    if (blocks > 0) n += 4 + 8 * blocks;
    return n;
}

uint32_t write_tcp_options(uint8_t* p, const TcpOptions& o) noexcept {
    uint32_t n = 0;
    if (o.has_mss) {
        p[n] = kOptMss;
        p[n + 1] = 4;
        store16(p + n + 2, o.mss);
        n += 4;
    }
    if (o.has_timestamps) {
        // SACK-permitted rides in the two bytes that would otherwise be NOP padding before the timestamps.
        if (o.sack_permitted) {
            p[n] = kOptSackPermitted;
            p[n + 1] = 2;
        } else {
            p[n] = kOptNop;
            p[n + 1] = kOptNop;
        }
        p[n + 2] = kOptTimestamps;
        p[n + 3] = 10;
        store32(p + n + 4, o.ts_val);
        store32(p + n + 8, o.ts_ecr);
        n += 12;
    } else if (o.sack_permitted) {
        p[n] = kOptNop;
        p[n + 1] = kOptNop;
        p[n + 2] = kOptSackPermitted;
        p[n + 3] = 2;
        n += 4;
    }
    if (o.has_wscale) {
        p[n] = kOptNop;
        p[n + 1] = kOptWindowScale;
        p[n + 2] = 3;
        p[n + 3] = o.wscale;
        n += 4;
    }
    if (o.sack_count > 0) {
        uint32_t blocks = o.sack_count;
        while (n + 4 + 8 * blocks > kMaxTcpOptionBytes && blocks > 0) --blocks;
        if (blocks > 0) {
            p[n] = kOptNop;
            p[n + 1] = kOptNop;
            p[n + 2] = kOptSack;
            p[n + 3] = static_cast<uint8_t>(2 + 8 * blocks);
            for (uint32_t i = 0; i < blocks; ++i) {
                store32(p + n + 4 + 8 * i, o.sack[i].left);
                store32(p + n + 8 + 8 * i, o.sack[i].right);
            }
            n += 4 + 8 * blocks;
        }
    }
    return n;
}

}  // namespace synack::wire
