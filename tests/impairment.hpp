// An in-process impairment shim for one direction of a simulated wire: packets handed to push() are lost,
// corrupted, duplicated, held back (reordered) or forwarded to an rte_ring, each with its own probability, drawn
// from a seeded deterministic RNG. Every mbuf pushed is either forwarded or freed (held ones on release()/flush()).
#pragma once
#include <cstdint>
#include <deque>
#include <functional>

#include <rte_mbuf.h>
#include <rte_ring.h>

namespace synack::test {

/// SplitMix64: small, fast, deterministic.
struct SplitMix64 {
    uint64_t s;
    explicit SplitMix64(uint64_t seed) : s(seed) {}
    uint64_t next() {
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    /// Uniform in [0, 1).
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    /// Uniform in [lo, hi].
    uint64_t range(uint64_t lo, uint64_t hi) { return lo + next() % (hi - lo + 1); }
};

struct ImpairmentConfig {
    double loss = 0;       ///< the packet is freed
    double corrupt = 0;    ///< a copy with one byte flipped is delivered instead (the receiver must drop it)
    double duplicate = 0;  ///< the packet and a copy of it are delivered
    double reorder = 0;    ///< the packet is held back for hold_min..hold_max cycles, letting later ones overtake
    uint64_t hold_min_cycles = 100;
    uint64_t hold_max_cycles = 3000;
    uint64_t seed = 1;
    /// Deterministic losses: a packet for which drop_if(packet, index pushed, 0-based) is true is lost.
    std::function<bool(const rte_mbuf*, uint64_t)> drop_if;
    /// An outage: every packet pushed at a time in [blackout_from, blackout_to) cycles is lost.
    uint64_t blackout_from = 0, blackout_to = 0;
};

struct ImpairmentStats {
    uint64_t pushed = 0;
    uint64_t forwarded = 0;     ///< handed to the ring (copies included)
    uint64_t lost = 0;
    uint64_t corrupted = 0;     ///< corrupted copies handed to the ring
    uint64_t duplicated = 0;
    uint64_t reordered = 0;
    uint64_t ring_full = 0;     ///< the ring refused the packet: freed (a tail drop)
    uint64_t no_mbuf = 0;       ///< a copy could not be made: the original went through unimpaired
};

class Impairment {
public:
    /// `out` receives the packets; `pool` supplies the copies made for duplication and corruption.
    Impairment(rte_ring* out, rte_mempool* pool, const ImpairmentConfig& cfg) : out_(out), pool_(pool), cfg_(cfg), rng_(cfg.seed) {}
    ~Impairment() { flush(); }
    Impairment(const Impairment&) = delete;
    Impairment& operator=(const Impairment&) = delete;

    /// Takes ownership of `m` at time `now` (cycles).
    void push(rte_mbuf* m, uint64_t now) {
        const uint64_t index = st_.pushed++;
        if ((cfg_.drop_if && cfg_.drop_if(m, index)) || (now >= cfg_.blackout_from && now < cfg_.blackout_to)) {
            ++st_.lost;
            rte_pktmbuf_free(m);
            return;
        }
        const double r = rng_.uniform();
        double p = cfg_.loss;
        if (r < p) {
            ++st_.lost;
            rte_pktmbuf_free(m);
            return;
        }
        if (r < (p += cfg_.corrupt)) {
            // The engine's segments share payload buffers with its send buffer (indirect mbufs): flip the byte in
            // a private deep copy, never in place, or a retransmission would carry the damage with a good checksum.
            rte_mbuf* c = rte_pktmbuf_copy(m, pool_, 0, UINT32_MAX);
            if (c == nullptr) {
                ++st_.no_mbuf;
                forward(m);
                return;
            }
            rte_pktmbuf_free(m);
            const uint32_t at = static_cast<uint32_t>(rng_.next() % rte_pktmbuf_pkt_len(c));
            const uint8_t mask = static_cast<uint8_t>(1u + rng_.next() % 255u);  // never 0: the byte changes
            uint32_t off = at;
            for (rte_mbuf* s = c; s != nullptr; s = s->next) {
                if (off < s->data_len) {
                    *rte_pktmbuf_mtod_offset(s, uint8_t*, off) ^= mask;
                    break;
                }
                off -= s->data_len;
            }
            ++st_.corrupted;
            forward(c);
            return;
        }
        if (r < (p += cfg_.duplicate)) {
            rte_mbuf* c = rte_pktmbuf_copy(m, pool_, 0, UINT32_MAX);
            if (c == nullptr) {
                ++st_.no_mbuf;
            } else {
                ++st_.duplicated;
                forward(m);
                m = c;
            }
            forward(m);
            return;
        }
        if (r < (p += cfg_.reorder)) {
            ++st_.reordered;
            held_.push_back(Held{now + rng_.range(cfg_.hold_min_cycles, cfg_.hold_max_cycles), m});
            return;
        }
        forward(m);
    }

    /// Delivers held packets whose time has come (call once per loop iteration, after push()).
    void release(uint64_t now) {
        for (auto it = held_.begin(); it != held_.end();) {
            if (it->due <= now) {
                forward(it->m);
                it = held_.erase(it);
            } else {
                ++it;
            }
        }
    }

    /// Frees every held packet.
    void flush() {
        for (const Held& h : held_) rte_pktmbuf_free(h.m);
        held_.clear();
    }

    size_t held() const { return held_.size(); }
    const ImpairmentStats& stats() const { return st_; }

private:
    struct Held {
        uint64_t due;
        rte_mbuf* m;
    };
    void forward(rte_mbuf* m) {
        if (rte_ring_enqueue(out_, m) != 0) {
            ++st_.ring_full;
            rte_pktmbuf_free(m);
            return;
        }
        ++st_.forwarded;
    }

    rte_ring* out_;
    rte_mempool* pool_;
    ImpairmentConfig cfg_;
    SplitMix64 rng_;
    std::deque<Held> held_;
    ImpairmentStats st_;
};

}  // namespace synack::test
