#include "dpdk/impair.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <rte_cycles.h>

namespace synack {
namespace {

double share(const std::string& key, const std::string& v) {
    std::string num = v;
    double scale = 1;
    if (!num.empty() && num.back() == '%') {
        num.pop_back();
        scale = 0.01;
    }
    char* end = nullptr;
    errno = 0;
    const double d = std::strtod(num.c_str(), &end);
    if (num.empty() || *end != '\0' || errno != 0 || d < 0 || d * scale > 1)
        throw std::invalid_argument("--impair " + key + ": expected a share like 1% or 0.01, got '" + v + "'");
    return d * scale;
}

// "<number><unit>" with the unit from `units` (lower case), returning number * unit factor.
double with_unit(const std::string& key, const std::string& v, std::initializer_list<std::pair<const char*, double>> units,
                 const char* what) {
    size_t i = 0;
    while (i < v.size() && (std::isdigit(static_cast<unsigned char>(v[i])) || v[i] == '.')) ++i;
    std::string unit = v.substr(i);
    for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    char* end = nullptr;
    const std::string num = v.substr(0, i);
    const double d = std::strtod(num.c_str(), &end);
    if (num.empty() || *end != '\0') throw std::invalid_argument("--impair " + key + ": expected " + what + ", got '" + v + "'");
    for (const auto& [name, factor] : units)
        if (unit == name) return d * factor;
    throw std::invalid_argument("--impair " + key + ": expected " + what + ", got '" + v + "'");
}

uint64_t integer(const std::string& key, const std::string& v, uint64_t lo, uint64_t hi) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || errno != 0 || n < lo || n > hi)
        throw std::invalid_argument("--impair " + key + ": expected a number in " + std::to_string(lo) + ".." +
                                    std::to_string(hi) + ", got '" + v + "'");
    return n;
}

}  // namespace

LinkImpairment parse_impairment(const std::string& spec) {
    LinkImpairment li;
    size_t pos = 0;
    while (pos <= spec.size()) {
        size_t comma = spec.find(',', pos);
        if (comma == std::string::npos) comma = spec.size();
        const std::string item = spec.substr(pos, comma - pos);
        pos = comma + 1;
        if (item.empty()) {
            if (comma == spec.size()) break;
            throw std::invalid_argument("--impair: empty item in '" + spec + "'");
        }
        const size_t eq = item.find('=');
        if (eq == std::string::npos) throw std::invalid_argument("--impair: expected key=value, got '" + item + "'");
        const std::string k = item.substr(0, eq), v = item.substr(eq + 1);
        const auto time_us = [&] {
            const double us = with_unit(k, v, {{"us", 1}, {"ms", 1e3}, {"s", 1e6}}, "a time like 10ms, 500us or 1s");
            if (us > 60e6) throw std::invalid_argument("--impair " + k + ": at most 60s, got '" + v + "'");
            return static_cast<uint32_t>(us);
        };
        if (k == "loss") {
            li.loss = share(k, v);
        } else if (k == "reorder") {
            li.reorder = share(k, v);
        } else if (k == "dup" || k == "duplicate") {
            li.duplicate = share(k, v);
        } else if (k == "corrupt") {
            li.corrupt = share(k, v);
        } else if (k == "delay") {
            li.delay_us = time_us();
        } else if (k == "reorder-delay") {
            li.reorder_us = std::max<uint32_t>(time_us(), 1);
        } else if (k == "rate") {
            const double bps = with_unit(k, v, {{"bit", 1}, {"kbit", 1e3}, {"mbit", 1e6}, {"gbit", 1e9}},
                                         "a rate like 1gbit, 100mbit or 500kbit");
            if (bps < 1e3 || bps > 1e12) throw std::invalid_argument("--impair rate: 1kbit..1000gbit, got '" + v + "'");
            li.rate_bps = static_cast<uint64_t>(bps);
        } else if (k == "queue") {
            li.queue = static_cast<uint32_t>(integer(k, v, 1, 1'000'000));
        } else if (k == "seed") {
            li.seed = integer(k, v, 0, UINT64_MAX);
        } else {
            throw std::invalid_argument("--impair: unknown item '" + k +
                                        "' (loss, reorder, dup, corrupt, delay, reorder-delay, rate, queue, seed)");
        }
    }
    if (li.loss + li.reorder + li.duplicate + li.corrupt > 1)
        throw std::invalid_argument("--impair: loss + reorder + dup + corrupt add up to more than 100%");
    return li;
}

namespace dpdk {
namespace {
constexpr uint32_t kFullFrameBytes = 1514;  ///< the queue limit counts frames of this size
constexpr uint32_t kEtherHeader = 14;
}  // namespace

ImpairLink::ImpairLink(const LinkImpairment& cfg, rte_mempool* pool, uint64_t hz, uint32_t capacity)
    : cfg_(cfg),
      pool_(pool),
      rng_(cfg.seed),
      delay_cycles_(static_cast<uint64_t>(cfg.delay_us) * hz / 1'000'000),
      reorder_cycles_(std::max<uint64_t>(static_cast<uint64_t>(cfg.reorder_us) * hz / 1'000'000, 1)),
      cycles_per_bit_(cfg.rate_bps ? static_cast<double>(hz) / static_cast<double>(cfg.rate_bps) : 0),
      max_backlog_cycles_(static_cast<uint64_t>(cycles_per_bit_ * 8.0 * kFullFrameBytes * cfg.queue)),
      fifo_(std::max<uint32_t>(capacity, 1)) {}

ImpairLink::~ImpairLink() {
    for (uint32_t i = 0; i < count_; ++i) rte_pktmbuf_free(fifo_[(head_ + i) % fifo_.size()].m);
    for (uint32_t i = 0; i < late_count_; ++i) rte_pktmbuf_free(late_[i].m);
}

// SplitMix64: small, fast and the same sequence for the same seed on every machine.
uint64_t ImpairLink::next_random() noexcept {
    uint64_t z = (rng_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t ImpairLink::schedule(const rte_mbuf* m, uint64_t now) noexcept {
    if (cycles_per_bit_ == 0) return now + delay_cycles_;
    const uint64_t start = std::max(now, link_free_);
    if (start - now > max_backlog_cycles_) return kDropped;  // the bottleneck's buffer is full: tail drop
    link_free_ = start + static_cast<uint64_t>(cycles_per_bit_ * 8.0 * rte_pktmbuf_pkt_len(m));
    return link_free_ + delay_cycles_;
}

void ImpairLink::hold(rte_mbuf* m, uint64_t due) noexcept {
    if (count_ == fifo_.size()) {
        ++st_.overflow_dropped;
        rte_pktmbuf_free(m);
        return;
    }
    fifo_[(head_ + count_) % fifo_.size()] = Held{due, m};
    ++count_;
}

// The engine's segments share payload with its send buffer (indirect mbufs): corrupt a private deep copy, never in
// place, or the retransmission would carry the damage too. The flip lands past the Ethernet header, where the
// IP or TCP checksum must catch it.
rte_mbuf* ImpairLink::corrupted_copy(rte_mbuf* m) noexcept {
    const uint32_t len = rte_pktmbuf_pkt_len(m);
    if (len <= kEtherHeader) return nullptr;
    rte_mbuf* c = rte_pktmbuf_copy(m, pool_, 0, UINT32_MAX);
    if (c == nullptr) return nullptr;
    uint32_t off = kEtherHeader + static_cast<uint32_t>(next_random() % (len - kEtherHeader));
    const uint8_t mask = static_cast<uint8_t>(1u + next_random() % 255u);  // never 0: the byte changes
    for (rte_mbuf* s = c; s != nullptr; s = s->next) {
        if (off < s->data_len) {
            *rte_pktmbuf_mtod_offset(s, uint8_t*, off) ^= mask;
            break;
        }
        off -= s->data_len;
    }
    return c;
}

void ImpairLink::admit(rte_mbuf* m, uint64_t now) noexcept {
    ++st_.frames_in;
    const double r = uniform();
    double p = cfg_.loss;
    if (r < p) {
        ++st_.lost;
        rte_pktmbuf_free(m);
        return;
    }
    rte_mbuf* second = nullptr;
    bool late = false;
    if (r < (p += cfg_.corrupt)) {
        rte_mbuf* c = corrupted_copy(m);
        if (c == nullptr) {
            ++st_.no_mbuf;
        } else {
            ++st_.corrupted;
            rte_pktmbuf_free(m);
            m = c;
        }
    } else if (r < (p += cfg_.duplicate)) {
        second = rte_pktmbuf_copy(m, pool_, 0, UINT32_MAX);
        if (second == nullptr) {
            ++st_.no_mbuf;
        } else {
            ++st_.duplicated;
        }
    } else if (r < (p += cfg_.reorder)) {
        late = late_count_ < kLateCapacity;
    }
    for (rte_mbuf* f : {m, second}) {
        if (f == nullptr) continue;
        const uint64_t due = schedule(f, now);
        if (due == kDropped) {
            ++st_.queue_dropped;
            rte_pktmbuf_free(f);
        } else if (late) {
            ++st_.reordered;
            late_[late_count_++] = Held{due + 1 + next_random() % reorder_cycles_, f};
        } else {
            hold(f, due);
        }
    }
}

uint16_t ImpairLink::process(rte_mbuf** pkts, uint16_t n, uint16_t max, uint64_t now) noexcept {
    for (uint16_t i = 0; i < n; ++i) admit(pkts[i], now);
    uint16_t out = 0;
    for (uint32_t i = 0; i < late_count_ && out < max;) {
        if (late_[i].due <= now) {
            pkts[out++] = late_[i].m;
            late_[i] = late_[--late_count_];
        } else {
            ++i;
        }
    }
    while (count_ > 0 && out < max && fifo_[head_].due <= now) {
        pkts[out++] = fifo_[head_].m;
        head_ = static_cast<uint32_t>((head_ + 1) % fifo_.size());
        --count_;
    }
    st_.delivered += out;
    return out;
}

uint16_t ImpairLink::rx_callback(uint16_t, uint16_t, rte_mbuf* pkts[], uint16_t n, uint16_t max, void* self) noexcept {
    return static_cast<ImpairLink*>(self)->process(pkts, n, max, rte_get_tsc_cycles());
}

}  // namespace dpdk
}  // namespace synack
