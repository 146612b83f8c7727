// Selective acknowledgments, both ends, in fixed-size arrays (nothing here allocates).
//
// Sender: SackScoreboard keeps what the peer SACKed between SND.UNA and SND.MAX (RFC 2018, RFC 6675 §3's
// scoreboard), spots D-SACKs (RFC 2883 §4), and answers RFC 6675 §4's IsLost(), SetPipe() and NextSeg() with the
// HighACK / HighRxt / RescueRxt bookkeeping. Loss recovery (when to enter, RecoveryPoint, PRR) is its caller's.
//
// Receiver: SackReporter chooses the blocks of an outgoing ACK: a D-SACK first when a duplicate arrived (RFC 2883
// §4), then the block holding the segment that triggered the ACK, then the most recently reported ones (RFC 2018 §4).
#pragma once
#include <cstdint>

#include "tcp/seq_number.hpp"
#include "wire/tcp_options.hpp"

namespace synack::tcp {

/// [left, right) in sequence space.
struct SeqRange {
    Seq left;
    Seq right;
    uint32_t size() const noexcept { return right - left; }
    friend bool operator==(const SeqRange&, const SeqRange&) = default;
};

class SackScoreboard {
public:
    static constexpr uint32_t kMaxRanges = 32;
    static constexpr uint32_t kDupThresh = 3;  ///< RFC 6675 §2 DupThresh

    /// What one ACK's SACK option did.
    struct AckResult {
        uint32_t newly_sacked = 0;  ///< bytes SACKed for the first time
        uint8_t used_blocks = 0;    ///< blocks that updated (or confirmed) the scoreboard
        uint8_t ignored_blocks = 0; ///< malformed, beyond SND.MAX, or wholly below SND.UNA (not a D-SACK)
        uint8_t lost_ranges = 0;    ///< ranges forgotten because the array was full (counted; only costs resends)
        bool dsack = false;         ///< the first block was a D-SACK (RFC 2883 §4): nothing was lost there
        SeqRange dsack_range{};
    };

    /// What NextSeg() chose (RFC 6675 §4).
    struct Next {
        enum class Kind : uint8_t { none, retransmit, new_data, rescue } kind = Kind::none;
        Seq seq;
        uint32_t len = 0;  ///< at most SMSS; for new_data the caller decides the length
    };

    /// Empty scoreboard starting at SND.UNA. Also after an RTO: RFC 6675 §5.1 / RFC 2018 §8 discard SACK state.
    void reset(Seq snd_una, uint32_t smss) noexcept;

    /// Processes one ACK: SEG.ACK advances HighACK (callers pass only acceptable ACKs), then each block is checked
    /// against [HighACK, snd_max) and merged in.
    AckResult on_ack(Seq seg_ack, const wire::SackBlock* blocks, uint32_t n, Seq snd_max) noexcept;

    /// Entering loss recovery (RFC 6675 §5 step 2): HighRxt = HighACK, RescueRxt undefined.
    void enter_recovery() noexcept;
    /// A retransmission of [seq, seq + len) went out (rules 1 and 3 of NextSeg): HighRxt moves to its end.
    void on_retransmit(Seq seq, uint32_t len) noexcept;
    /// RFC 8985 §6.2 step 5 found every un-SACKed byte below `end` lost (RACK's verdict, by time): IsLost(),
    /// SetPipe() and NextSeg() rule 1 then treat them as DupThresh would. Cleared by reset().
    void mark_lost(Seq end) noexcept;
    /// The first run of un-SACKed bytes in [from, to): empty (left == right == to) when all of it is SACKed.
    SeqRange first_unsacked(Seq from, Seq to) const noexcept;

    /// RFC 6675 §4 IsLost(seq): DupThresh discontiguous SACKed ranges, or more than (DupThresh - 1) SMSS SACKed
    /// bytes, above it. Ranges, not segments, are counted: a run of small SACKed segments counts once (RACK covers
    /// that case by time).
    bool is_lost(Seq seq) const noexcept;
    /// RFC 6675 §4 SetPipe(): bytes in flight; unSACKed bytes not deemed lost count once, those retransmitted (below
    /// HighRxt) once more. Byte-exact, O(ranges).
    uint32_t pipe(Seq high_data) const noexcept;
    /// RFC 6675 §4 NextSeg(), rules 1 to 4 in order. `new_data_ok`: unsent data exists and the receive window takes
    /// it. Rule 4 (rescue) sets RescueRxt = recovery_point, so call this only when about to send.
    Next next_seg(Seq high_data, bool new_data_ok, Seq recovery_point) noexcept;

    bool is_sacked(Seq seq) const noexcept;
    uint32_t sacked_bytes() const noexcept;
    uint32_t range_count() const noexcept { return n_; }
    const SeqRange& range(uint32_t i) const noexcept { return r_[i]; }
    Seq high_ack() const noexcept { return high_ack_; }
    Seq high_rxt() const noexcept { return high_rxt_; }
    /// Highest SACKed octet + 1 (HighACK when nothing is SACKed).
    Seq highest_sacked() const noexcept { return n_ ? r_[n_ - 1].right : high_ack_; }

private:
    /// Every unSACKed byte below this is lost (IsLost is monotone in the sequence number).
    Seq lost_boundary() const noexcept;
    /// UnSACKed bytes in [from, to).
    uint32_t unsacked(Seq from, Seq to) const noexcept;
    /// Smallest unSACKed byte >= from, and the end of its hole.
    SeqRange hole_at_or_after(Seq from) const noexcept;
    uint32_t insert(SeqRange s, uint8_t& lost_ranges) noexcept;
    void drop_below(Seq ack) noexcept;

    SeqRange r_[kMaxRanges];  ///< sorted, disjoint, not touching, all within [high_ack_, snd_max)
    uint32_t n_ = 0;
    uint32_t smss_ = 536;
    Seq high_ack_;
    Seq high_rxt_;
    Seq rescue_rxt_;
    Seq rack_lost_;  ///< mark_lost(): un-SACKed bytes below this are lost whatever IsLost's count says
    bool rescue_valid_ = false;
};

class SackReporter {
public:
    /// The out-of-order block (after merging in the reassembly queue) holding the segment that just arrived. It
    /// goes first in the next ACK and replaces the reported blocks it absorbed (RFC 2018 §4).
    void on_out_of_order(Seq left, Seq right) noexcept;
    /// A duplicate [left, right) arrived: the next ACK carries it as a D-SACK, once (RFC 2883 §4).
    void on_duplicate(Seq left, Seq right) noexcept;
    /// RCV.NXT moved: blocks now covered by the cumulative ACK go.
    void on_rcv_nxt(Seq rcv_nxt) noexcept;
    /// Reneging (RFC 2018 §8: the queue was pruned): stop reporting anything overlapping [left, right).
    void forget(Seq left, Seq right) noexcept;
    /// Writes up to `max` blocks (4, or 3 with timestamps) and consumes the pending D-SACK. Returns the count.
    uint32_t fill(wire::SackBlock* out, uint32_t max) noexcept;
    void clear() noexcept { n_ = 0; has_dsack_ = false; }
    uint32_t pending() const noexcept { return n_ + (has_dsack_ ? 1u : 0u); }
    bool has_dsack() const noexcept { return has_dsack_; }

private:
    void remove(uint32_t i) noexcept;
    SeqRange recent_[wire::kMaxSackBlocks];  ///< most recent first
    uint32_t n_ = 0;
    SeqRange dsack_{};
    bool has_dsack_ = false;
};

}  // namespace synack::tcp
