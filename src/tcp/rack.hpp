// RACK-TLP bookkeeping (RFC 8985): per-segment transmit times in a fixed ring keyed by sequence range, the RACK
// state (most recently delivered segment, min_RTT, reordering window and its D-SACK adaptation), the loss-detection
// pass with the reorder timer's deadline, and the tail loss probe's timeout and outcome. No clock, no timer, no
// packets: the engine passes times in microseconds, retransmits what is reported lost, and arms its timers.
#pragma once
#include <cstdint>

#include "tcp/sack.hpp"
#include "tcp/seq_number.hpp"

namespace synack::tcp {

/// RFC 8985 §6.1's per-connection state that outlives a loss episode: the path's min_RTT (§6.2 step 1) and what
/// the sender has learned of its reordering (steps 3 and 4: reordering_seen, reo_wnd_mult, which step 4 keeps for
/// 16 recoveries, reo_wnd_persist, dsack_round). The TCB holds it while no scoreboard is lent (16 bytes); the
/// pool's Rack holds the live copy while one is, and gives it back when the slot returns to the pool.
struct RackPath {
    static constexpr uint8_t kReoWndPersist = 16;          ///< RFC 8985 §6.2 step 4
    static constexpr uint32_t kMinRttWindowMs = 300'000;   ///< min_RTT filter window (Linux: 5 min)

    uint32_t min_rtt_us = UINT32_MAX;  ///< RACK.min_RTT (UINT32_MAX: no sample yet)
    uint32_t min_rtt_at_ms = 0;        ///< when it was taken, in ms (32 bits: compared by unsigned difference)
    Seq dsack_round;                   ///< RACK.dsack_round: SND.NXT when reo_wnd_mult last grew
    uint8_t reo_wnd_mult = 1;          ///< RACK.reo_wnd_mult
    uint8_t reo_wnd_persist = 0;       ///< RACK.reo_wnd_persist: recoveries left before the multiplier resets
    bool reordering_seen = false;      ///< RACK.reordering_seen
    bool dsack_round_valid = false;

    /// RFC 8985 §6.2 step 1: a windowed minimum (a new minimum, or the old one has aged out of the window).
    void on_rtt_sample(uint32_t rtt_us, uint64_t now_us) noexcept {
        const auto now_ms = static_cast<uint32_t>(now_us / 1000);
        if (rtt_us <= min_rtt_us || now_ms - min_rtt_at_ms > kMinRttWindowMs) {
            min_rtt_us = rtt_us;
            min_rtt_at_ms = now_ms;
        }
    }
};
static_assert(sizeof(RackPath) == 16);

class Rack {
public:
    static constexpr uint32_t kMaxEntries = 64;
    static constexpr uint32_t kDupThresh = 3;

    /// One ACK as RACK needs it (RFC 8985 §6.2). `sacked` may be the ACK's blocks as they came: malformed ones and
    /// ones outside [SND.UNA, SND.NXT] are skipped, and a D-SACK changes nothing here (pass `dsack` for reo_wnd).
    struct Ack {
        uint64_t now_us = 0;
        Seq snd_una;                 ///< after this ACK
        Seq snd_nxt;
        const SeqRange* sacked = nullptr;
        uint32_t n_sacked = 0;
        bool dsack = false;          ///< the ACK carried a D-SACK
        uint64_t ts_echo_us = 0;     ///< when the segment whose TSval is echoed was sent; 0 without timestamps
        uint32_t segs_sacked = 0;    ///< segments SACKed on the scoreboard (RACK.segs_sacked)
        uint32_t srtt_us = 0;
        bool in_recovery = false;
        bool recovery_ended = false; ///< this ACK ended fast or RTO recovery (reo_wnd_persist countdown)
    };

    struct Result {
        uint32_t newly_lost = 0;   ///< ranges marked lost by this pass (read them with lost_ranges())
        uint64_t reo_timeout_us = 0;  ///< arm the reorder timer this far from now; 0: no timer (RFC 8985 §6.2 step 5)
    };

    /// [start, end) went out at now_us. New data must follow the highest sequence sent; a retransmission lies inside
    /// what was sent and gets the new time (and loses its lost mark). Returns false if the range was not tracked.
    /// Send times never go back, and a retransmission's is later than any send before it (one µs on when the
    /// clock has not moved): RFC 8985 §6.2's tie-break by sequence number is for segments of one burst, and would
    /// otherwise put a retransmission before the new data sent in the same clock tick.
    bool on_send(Seq start, Seq end, uint64_t now_us, bool retransmission) noexcept;
    /// RFC 8985 §6.2 steps 1 to 5 for one ACK.
    Result on_ack(const Ack& a) noexcept;
    /// The reorder timer fired (RFC 8985 §6.3): the loss-detection pass alone.
    Result on_reorder_timeout(uint64_t now_us, uint32_t srtt_us, bool in_recovery, uint32_t segs_sacked) noexcept;
    /// An RTT sample from the RFC 6298 / RFC 7323 estimator (RFC 8985 §6.2 step 1): feeds min_RTT.
    void on_rtt_sample(uint32_t rtt_us, uint64_t now_us) noexcept;
    /// The RTO fired (RFC 8985 §6.3 RACK_mark_losses_on_RTO): the segment at SND.UNA and every un-SACKed one sent
    /// more than RACK.rtt + reo_wnd ago are lost; later ones are still given their time. Returns the count marked.
    uint32_t on_rto(uint64_t now_us, uint32_t srtt_us) noexcept;
    /// Forgets every segment and the per-episode state, and starts from what the connection learned before.
    void clear(const RackPath& path = {}) noexcept;
    /// What outlives this episode (RackPath), for the TCB to keep when the scoreboard goes back to the pool.
    const RackPath& path() const noexcept { return path_; }

    /// Writes up to `max` ranges marked lost and not retransmitted since, lowest first. Returns the count.
    uint32_t lost_ranges(SeqRange* out, uint32_t max) const noexcept;

    /// RFC 8985 §6.2 step 4: the reordering window the next detection pass uses.
    uint32_t reo_wnd_us(uint32_t srtt_us, bool in_recovery, uint32_t segs_sacked) const noexcept;

    uint32_t min_rtt_us() const noexcept { return path_.min_rtt_us; }
    uint32_t rack_rtt_us() const noexcept { return rtt_us_; }
    uint64_t rack_xmit_us() const noexcept { return xmit_us_; }
    Seq rack_end_seq() const noexcept { return end_seq_; }
    bool reordering_seen() const noexcept { return path_.reordering_seen; }
    uint8_t reo_wnd_mult() const noexcept { return path_.reo_wnd_mult; }
    uint32_t entries() const noexcept { return n_; }
    /// The ring's invariants (for tests): entries non-empty, in sequence order without overlap, none below
    /// `snd_una`, none both SACKed and lost.
    bool consistent(Seq snd_una) const noexcept;
    /// Times the ring was full: neighbours folded on a send, or a split refused (the entry kept whole). Either
    /// only delays a verdict or, for a folded SACKed entry, lets RACK call SACKed bytes lost (check the scoreboard
    /// before resending); a count that grows says kMaxEntries is too small for the traffic.
    uint32_t overflows() const noexcept { return overflows_; }

private:
    struct Entry {  // 16 bytes: the ring is 1 KB
        Seq start;
        Seq end;
        uint64_t xmit_us : 61;  ///< 2^61 µs is longer than any clock here runs
        uint64_t retransmitted : 1;
        uint64_t lost : 1;
        uint64_t sacked : 1;
    };
    static_assert(sizeof(Entry) == 16);
    static constexpr uint64_t kInfinite = UINT64_MAX;  ///< xmit time of a segment already marked lost

    Entry& at(uint32_t i) noexcept { return e_[(head_ + i) % kMaxEntries]; }
    const Entry& at(uint32_t i) const noexcept { return e_[(head_ + i) % kMaxEntries]; }
    bool split(uint32_t i, Seq at) noexcept;  ///< entry i becomes [start, at) and [at, end); false if full
    void insert_at(uint32_t i, const Entry& e) noexcept;
    void delivered(const Entry& e, Seq end, const Ack& a) noexcept;
    void update_reo_wnd(const Ack& a) noexcept;
    Result detect_loss(uint64_t now_us, uint32_t reo_wnd_us) noexcept;

    Entry e_[kMaxEntries];
    uint32_t head_ = 0;
    uint32_t n_ = 0;
    uint32_t overflows_ = 0;
    uint64_t last_sent_us_ = 0;  ///< the latest send time given to an entry
    // RFC 8985 §6.1 state
    uint64_t xmit_us_ = 0;       ///< RACK.xmit_ts
    Seq end_seq_;                ///< RACK.end_seq
    bool have_rack_ = false;
    uint32_t rtt_us_ = 0;        ///< RACK.rtt
    Seq fack_;                   ///< RACK.fack
    bool have_fack_ = false;
    RackPath path_;              ///< min_RTT and the reordering state: the connection's, lent for the episode
};

/// Tail Loss Probe (RFC 8985 §7).
class Tlp {
public:
    static constexpr uint32_t kWcDelAckUs = 200'000;  ///< WCDelAckT, the worst-case delayed-ACK timer

    /// RFC 8985 §7.2: PTO = 2 SRTT (+ WCDelAckT when one segment is in flight), 1 s without an RTT sample, and never
    /// later than the RTO would fire.
    static uint64_t pto_us(uint32_t srtt_us, bool one_segment_in_flight, uint64_t rto_remaining_us,
                           uint32_t wc_delack_us = kWcDelAckUs) noexcept;

    /// A probe went out (§7.3): new data (`retransmission` false) or the last segment again. One per episode.
    void on_probe_sent(bool retransmission, Seq snd_nxt) noexcept;
    bool in_progress() const noexcept { return active_; }

    enum class Outcome : uint8_t { none, no_loss, loss_repaired };
    /// §7.4: what this ACK says about the probe. loss_repaired: the probe fixed a tail loss and congestion control
    /// must react (on_congestion_event); no_loss: the probe was redundant (D-SACK) or delivered new data.
    Outcome on_ack(Seq seg_ack, bool advanced_una, bool has_sack, bool dsack, SeqRange dsack_range) noexcept;
    void clear() noexcept { active_ = false; }

private:
    Seq end_seq_;
    bool is_retrans_ = false;
    bool active_ = false;
};

}  // namespace synack::tcp
