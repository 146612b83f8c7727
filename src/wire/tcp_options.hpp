// TCP options (RFC 9293 §3.2, RFC 7323, RFC 2018): parsed into a flat struct, written in the usual aligned layout.
#pragma once
#include <cstdint>

namespace synack::wire {

enum TcpOptionKind : uint8_t {
    kOptEol = 0,
    kOptNop = 1,
    kOptMss = 2,
    kOptWindowScale = 3,
    kOptSackPermitted = 4,
    kOptSack = 5,
    kOptTimestamps = 8,
};

constexpr uint32_t kMaxTcpOptionBytes = 40;
constexpr uint32_t kMaxSackBlocks = 4;

struct SackBlock {
    uint32_t left;
    uint32_t right;
};

struct TcpOptions {
    bool has_mss = false;
    bool has_wscale = false;
    bool sack_permitted = false;
    bool has_timestamps = false;
    uint16_t mss = 0;
    uint8_t wscale = 0;
    uint8_t sack_count = 0;
    uint32_t ts_val = 0;
    uint32_t ts_ecr = 0;
    SackBlock sack[kMaxSackBlocks] = {};
};

/// Parses the option bytes between the fixed TCP header and the data offset. Unknown kinds are skipped by their
/// length; a known kind with the wrong length is ignored (as Linux does). Returns false for a structurally malformed
/// list (a length byte missing, below 2, or running past the options area): the segment must be dropped.
bool parse_tcp_options(const uint8_t* p, uint32_t len, TcpOptions& out) noexcept;

/// Bytes write_tcp_options() will produce for `o`: a multiple of 4, at most 40.
uint32_t tcp_options_size(const TcpOptions& o) noexcept;

/// Writes `o` at `p` (room for tcp_options_size(o) bytes), NOP-padded to 4-byte alignment. Returns bytes written.
uint32_t write_tcp_options(uint8_t* p, const TcpOptions& o) noexcept;

}  // namespace synack::wire
