#include "tcp/sack.hpp"

#include <algorithm>

namespace synack::tcp {

// ---------------------------------------------------------------- sender: scoreboard

void SackScoreboard::reset(Seq snd_una, uint32_t smss) noexcept {
    n_ = 0;
    smss_ = smss;
    high_ack_ = snd_una;
    high_rxt_ = snd_una;
    rack_lost_ = snd_una;
    rescue_valid_ = false;
}

void SackScoreboard::drop_below(Seq ack) noexcept {
    uint32_t keep = 0;
    for (uint32_t i = 0; i < n_; ++i) {
        if (r_[i].right <= ack) continue;
        r_[keep] = r_[i];
        r_[keep].left = max(r_[keep].left, ack);
        ++keep;
    }
    n_ = keep;
}

// Merges s into the sorted array; returns the bytes it added. When the array is full the lowest range goes: those
// bytes then look un-SACKed and may be resent, which is safe (RFC 2018 §8 lets the receiver renege anyway).
uint32_t SackScoreboard::insert(SeqRange s, uint8_t& lost_ranges) noexcept {
    uint32_t i = 0;
    while (i < n_ && r_[i].right < s.left) ++i;  // ranges wholly before s (not even touching)
    uint32_t j = i;
    uint32_t covered = 0;
    SeqRange m = s;
    while (j < n_ && r_[j].left <= s.right) {  // ranges overlapping or touching s
        const Seq lo = max(r_[j].left, s.left), hi = min(r_[j].right, s.right);
        if (lo < hi) covered += hi - lo;
        m.left = min(m.left, r_[j].left);
        m.right = max(m.right, r_[j].right);
        ++j;
    }
    const uint32_t added = s.size() - covered;
    if (j > i) {  // replace r_[i..j) by m
        r_[i] = m;
        std::copy(r_ + j, r_ + n_, r_ + i + 1);
        n_ -= j - i - 1;
        return added;
    }
    if (n_ == kMaxRanges) {
        ++lost_ranges;
        if (i == 0) return 0;  // s itself is the lowest: forget it
        std::copy(r_ + 1, r_ + n_, r_);
        --n_;
        --i;
    }
    std::copy_backward(r_ + i, r_ + n_, r_ + n_ + 1);
    r_[i] = m;
    ++n_;
    return added;
}

SackScoreboard::AckResult SackScoreboard::on_ack(Seq seg_ack, const wire::SackBlock* blocks, uint32_t n,
                                                 Seq snd_max) noexcept {
    AckResult res;
    if (seg_ack > high_ack_ && seg_ack <= snd_max) {
        high_ack_ = seg_ack;
        drop_below(seg_ack);
        if (high_rxt_ < high_ack_) high_rxt_ = high_ack_;
    }
    for (uint32_t k = 0; k < n; ++k) {
        SeqRange b{Seq(blocks[k].left), Seq(blocks[k].right)};
        if (!(b.left < b.right)) {
            ++res.ignored_blocks;
            continue;
        }
        // RFC 2883 §4: the first block is a D-SACK when the cumulative ACK covers it, or when the second block
        // contains it. It reports a duplicate, not a hole filled: it never changes the scoreboard.
        if (k == 0) {
            const bool below_ack = b.right <= seg_ack;
            const bool inside_second = n > 1 && Seq(blocks[1].left) <= b.left && b.right <= Seq(blocks[1].right) &&
                                       Seq(blocks[1].left) < Seq(blocks[1].right);
            if (below_ack || inside_second) {
                res.dsack = true;
                res.dsack_range = b;
                ++res.used_blocks;
                continue;
            }
        }
        // RFC 6675 §5 / RFC 2018: only [HighACK, SND.MAX) can be SACKed; anything past what we sent is bogus.
        if (b.right > snd_max || b.right <= high_ack_) {
            ++res.ignored_blocks;
            continue;
        }
        b.left = max(b.left, high_ack_);
        res.newly_sacked += insert(b, res.lost_ranges);
        ++res.used_blocks;
    }
    return res;
}

void SackScoreboard::enter_recovery() noexcept {
    high_rxt_ = high_ack_;
    rescue_valid_ = false;
}

void SackScoreboard::on_retransmit(Seq seq, uint32_t len) noexcept { high_rxt_ = max(high_rxt_, seq + len); }

void SackScoreboard::mark_lost(Seq end) noexcept { rack_lost_ = max(rack_lost_, end); }

SeqRange SackScoreboard::first_unsacked(Seq from, Seq to) const noexcept {
    Seq s = from;
    for (uint32_t i = 0; i < n_ && s < to; ++i) {
        if (r_[i].right <= s) continue;
        if (r_[i].left <= s) {
            s = r_[i].right;
            continue;
        }
        return {s, min(r_[i].left, to)};
    }
    return s < to ? SeqRange{s, to} : SeqRange{to, to};
}

bool SackScoreboard::is_sacked(Seq seq) const noexcept {
    for (uint32_t i = 0; i < n_; ++i) {
        if (in_range(seq, r_[i].left, r_[i].right)) return true;
    }
    return false;
}

uint32_t SackScoreboard::sacked_bytes() const noexcept {
    uint32_t s = 0;
    for (uint32_t i = 0; i < n_; ++i) s += r_[i].size();
    return s;
}

// Walking down from the highest range, the first range at which the ranges or bytes above reach the threshold is
// where IsLost() turns true for every un-SACKed byte below it.
Seq SackScoreboard::lost_boundary() const noexcept {
    uint32_t bytes = 0;
    for (uint32_t k = n_; k-- > 0;) {
        bytes += r_[k].size();
        if (n_ - k >= kDupThresh || bytes > (kDupThresh - 1) * smss_) return max(r_[k].left, rack_lost_);
    }
    return max(high_ack_, rack_lost_);
}

bool SackScoreboard::is_lost(Seq seq) const noexcept { return seq >= high_ack_ && seq < lost_boundary() && !is_sacked(seq); }

uint32_t SackScoreboard::unsacked(Seq from, Seq to) const noexcept {
    if (!(from < to)) return 0;
    uint32_t total = to - from;
    for (uint32_t i = 0; i < n_; ++i) {
        const Seq lo = max(r_[i].left, from), hi = min(r_[i].right, to);
        if (lo < hi) total -= hi - lo;
    }
    return total;
}

uint32_t SackScoreboard::pipe(Seq high_data) const noexcept {
    const Seq lost = min(lost_boundary(), high_data);
    const Seq rxt = min(max(high_rxt_, high_ack_), high_data);
    return unsacked(high_ack_, high_data) - unsacked(high_ack_, lost) + unsacked(high_ack_, rxt);
}

SeqRange SackScoreboard::hole_at_or_after(Seq from) const noexcept {
    Seq s = max(from, high_ack_);
    for (uint32_t i = 0; i < n_; ++i) {
        if (r_[i].right <= s) continue;
        if (r_[i].left <= s) {
            s = r_[i].right;  // inside a SACKed range: the hole starts after it
            continue;
        }
        return {s, r_[i].left};
    }
    return {s, s};  // no hole below the highest SACKed byte
}

SackScoreboard::Next SackScoreboard::next_seg(Seq high_data, bool new_data_ok, Seq recovery_point) noexcept {
    Next out;
    const SeqRange hole = hole_at_or_after(high_rxt_);
    const bool hole_below_sacked = hole.left < hole.right;  // (1.a) + (1.b): un-SACKed, above HighRxt, below a SACK
    auto segment = [&](Next::Kind kind) {
        out.kind = kind;
        out.seq = hole.left;
        out.len = std::min(hole.size(), smss_);
        return out;
    };
    if (hole_below_sacked && hole.left < lost_boundary()) return segment(Next::Kind::retransmit);  // rule 1 (1.c)
    if (new_data_ok) {                                                                              // rule 2
        out.kind = Next::Kind::new_data;
        out.seq = high_data;
        return out;
    }
    if (hole_below_sacked) return segment(Next::Kind::retransmit);  // rule 3
    // Rule 4 (rescue): once per recovery, up to one SMSS holding the highest outstanding un-SACKed byte.
    if (!rescue_valid_ || high_ack_ > rescue_rxt_) {
        Seq top = high_data;
        for (uint32_t k = n_; k-- > 0;) {
            if (r_[k].right == top) top = r_[k].left;  // SACKed tail: the highest un-SACKed byte is below it
        }
        if (high_ack_ < top) {
            out.kind = Next::Kind::rescue;
            out.len = std::min<uint32_t>(top - high_ack_, smss_);
            out.seq = top - out.len;
            rescue_rxt_ = recovery_point;
            rescue_valid_ = true;
            return out;
        }
    }
    return out;
}

// ---------------------------------------------------------------- receiver: which blocks to send

void SackReporter::remove(uint32_t i) noexcept {
    std::copy(recent_ + i + 1, recent_ + n_, recent_ + i);
    --n_;
}

void SackReporter::on_out_of_order(Seq left, Seq right) noexcept {
    if (!(left < right)) return;
    // Blocks the new one overlaps or touches were merged into it in the queue: they go, it goes first.
    for (uint32_t i = n_; i-- > 0;) {
        if (recent_[i].left <= right && left <= recent_[i].right) remove(i);
    }
    if (n_ == wire::kMaxSackBlocks) --n_;  // the least recently reported one falls off
    std::copy_backward(recent_, recent_ + n_, recent_ + n_ + 1);
    recent_[0] = {left, right};
    ++n_;
}

void SackReporter::on_duplicate(Seq left, Seq right) noexcept {
    if (!(left < right)) return;
    dsack_ = {left, right};
    has_dsack_ = true;
}

void SackReporter::on_rcv_nxt(Seq rcv_nxt) noexcept {
    for (uint32_t i = n_; i-- > 0;) {
        if (recent_[i].right <= rcv_nxt) {
            remove(i);
        } else if (recent_[i].left < rcv_nxt) {
            recent_[i].left = rcv_nxt;
        }
    }
}

void SackReporter::forget(Seq left, Seq right) noexcept {
    for (uint32_t i = n_; i-- > 0;) {
        if (recent_[i].left < right && left < recent_[i].right) remove(i);
    }
}

uint32_t SackReporter::fill(wire::SackBlock* out, uint32_t max) noexcept {
    uint32_t k = 0;
    int32_t second = -1;
    if (has_dsack_ && max > 0) {
        out[k++] = {dsack_.left.raw(), dsack_.right.raw()};
        has_dsack_ = false;
        // RFC 2883 §4 (3): a duplicate above the cumulative ACK is followed by the block that holds it.
        for (uint32_t i = 0; i < n_ && k < max; ++i) {
            if (recent_[i].left <= dsack_.left && dsack_.right <= recent_[i].right) {
                out[k++] = {recent_[i].left.raw(), recent_[i].right.raw()};
                second = static_cast<int32_t>(i);
                break;
            }
        }
    }
    for (uint32_t i = 0; i < n_ && k < max; ++i) {
        if (static_cast<int32_t>(i) == second) continue;
        out[k++] = {recent_[i].left.raw(), recent_[i].right.raw()};
    }
    return k;
}

}  // namespace synack::tcp
