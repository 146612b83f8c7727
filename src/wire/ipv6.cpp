// IPv6 header and extension-header walk (RFC 8200 §4), every length checked against the payload and the frame.
#include "wire/ipv6.hpp"

namespace synack::wire {

const char* to_string(Ip6Status s) noexcept {
    switch (s) {
    case Ip6Status::ok: return "ok";
    case Ip6Status::truncated: return "truncated";
    case Ip6Status::headers_split: return "headers_split";
    case Ip6Status::bad_version: return "bad_version";
    case Ip6Status::bad_payload_len: return "bad_payload_len";
    case Ip6Status::ext_past_payload: return "ext_past_payload";
    case Ip6Status::ext_chain_too_long: return "ext_chain_too_long";
    case Ip6Status::hop_by_hop_not_first: return "hop_by_hop_not_first";
    case Ip6Status::bad_option: return "bad_option";
    case Ip6Status::option_discard: return "option_discard";
    case Ip6Status::option_param_problem: return "option_param_problem";
    case Ip6Status::routing_type0: return "routing_type0";
    case Ip6Status::routing_segments_left: return "routing_segments_left";
    case Ip6Status::fragment: return "fragment";
    case Ip6Status::count_: break;
    }
    return "?";
}

namespace {

constexpr uint8_t kHopByHop = 0;
constexpr uint8_t kRouting = 43;
constexpr uint8_t kFragment = 44;
constexpr uint8_t kDestOptions = 60;

constexpr uint8_t kPad1 = 0;  // one byte, no length; PadN (1) has a length and high bits 00: skipped below

// RFC 8200 §4.2: the TLV options of a hop-by-hop or destination options header (bytes after its first two).
// Pad1 and PadN are the only types we know; any other acts on its two high bits.
Ip6Status walk_options(const uint8_t* p, uint32_t len) noexcept {
    for (uint32_t i = 0; i < len;) {
        const uint8_t type = p[i];
        if (type == kPad1) {
            ++i;
            continue;
        }
        if (i + 2 > len || i + 2 + p[i + 1] > len) return Ip6Status::bad_option;
        switch (type >> 6) {
        case 0: break;                                          // 00: skip over this option
        case 1: return Ip6Status::option_discard;               // 01: discard silently
        default: return Ip6Status::option_param_problem;        // 10, 11: discard (and ICMPv6 Parameter Problem)
        }
        i += 2u + p[i + 1];
    }
    return Ip6Status::ok;
}

}  // namespace

Ip6Status ipv6_walk(const uint8_t* ip, uint32_t contiguous, uint32_t frame_len, Ip6Walk& out) noexcept {
    if (contiguous < kIpv6HeaderLen || frame_len < kIpv6HeaderLen) return Ip6Status::truncated;
    const auto* h = reinterpret_cast<const rte_ipv6_hdr*>(ip);
    if ((ip[0] >> 4) != 6) return Ip6Status::bad_version;
    // RFC 8200 §3: payload length counts the extension headers; what follows it in the frame is link padding.
    const uint32_t payload = rte_be_to_cpu_16(h->payload_len);
    if (payload == 0 || kIpv6HeaderLen + payload > frame_len) return Ip6Status::bad_payload_len;
    const uint32_t end = kIpv6HeaderLen + payload;

    uint8_t next = h->proto;
    uint32_t off = kIpv6HeaderLen;
    out.atomic_fragment = false;
    for (uint32_t n = 0;; ++n) {
        if (next != kHopByHop && next != kRouting && next != kFragment && next != kDestOptions) break;
        // RFC 8200 §4.1: hop-by-hop options only right after the IPv6 header.
        if (next == kHopByHop && n != 0) return Ip6Status::hop_by_hop_not_first;
        if (n == kMaxIpv6ExtHeaders) return Ip6Status::ext_chain_too_long;
        if (off + 8 > end) return Ip6Status::ext_past_payload;  // every extension header is at least 8 bytes
        if (off + 8 > contiguous) return Ip6Status::headers_split;
        const uint8_t* e = ip + off;
        const uint32_t len = next == kFragment ? 8u : (e[1] + 1u) * 8u;  // RFC 8200 §4.3-§4.6: 8-octet units
        if (off + len > end) return Ip6Status::ext_past_payload;
        if (off + len > contiguous) return Ip6Status::headers_split;
        switch (next) {
        case kHopByHop:
        case kDestOptions:
            if (Ip6Status s = walk_options(e + 2, len - 2); s != Ip6Status::ok) return s;
            break;
        case kRouting:
            if (e[2] == 0) return Ip6Status::routing_type0;        // RFC 5095 §3, whatever segments left says
            if (e[3] != 0) return Ip6Status::routing_segments_left; // RFC 8200 §4.4: 0 left means ignore it
            break;
        case kFragment: {
            // RFC 8200 §4.5: offset in the top 13 bits, M in the lowest. Offset 0 and M 0 is an atomic fragment,
            // which RFC 6946 §4 has us process as a whole packet; anything else would need reassembly.
            const uint16_t off_m = static_cast<uint16_t>((e[2] << 8) | e[3]);
            if ((off_m & 0xfff9) != 0) return Ip6Status::fragment;
            out.atomic_fragment = true;
            break;
        }
        }
        next = e[0];
        off += len;
    }
    out.proto = next;
    out.l4_off = static_cast<uint16_t>(off);
    out.l4_len = static_cast<uint16_t>(end - off);
    return Ip6Status::ok;
}

}  // namespace synack::wire
