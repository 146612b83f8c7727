#include "tcp/rack.hpp"

#include <algorithm>

namespace synack::tcp {
namespace {

// RFC 8985 §6.2: RACK_sent_after(t1, seq1, t2, seq2): sent later, or at the same time with a higher sequence.
bool sent_after(uint64_t t1, Seq seq1, uint64_t t2, Seq seq2) { return t1 > t2 || (t1 == t2 && seq1 > seq2); }

// A block RACK may use: well-formed and within [SND.UNA, SND.NXT]. A D-SACK is either below SND.UNA (skipped here)
// or inside another block (harmless), so the raw blocks of an ACK can be passed as they came.
bool usable(const SeqRange& b, Seq snd_una, Seq snd_nxt) { return b.left < b.right && snd_una < b.right && b.right <= snd_nxt; }

}  // namespace

// ---------------------------------------------------------------- the ring

void Rack::insert_at(uint32_t i, const Entry& e) noexcept {
    for (uint32_t k = n_; k > i; --k) at(k) = at(k - 1);
    ++n_;
    at(i) = e;
}

bool Rack::split(uint32_t i, Seq point) noexcept {
    Entry& e = at(i);
    if (!(e.start < point && point < e.end)) return true;  // nothing to split
    if (n_ == kMaxEntries) {
        ++overflows_;
        return false;
    }
    Entry tail = e;
    tail.start = point;
    e.end = point;
    insert_at(i + 1, tail);
    return true;
}

bool Rack::on_send(Seq start, Seq end, uint64_t now_us, bool retransmission) noexcept {
    if (!(start < end)) return false;
    now_us = std::max(now_us, retransmission ? last_sent_us_ + 1 : last_sent_us_);
    last_sent_us_ = now_us;
    if (!retransmission) {
        if (n_ > 0 && start < at(n_ - 1).end) return false;  // new data follows what was sent
        Entry& last = at(n_ > 0 ? n_ - 1 : 0);
        // One entry per burst: segments sent back to back at the same time need no separate times.
        if (n_ > 0 && last.end == start && last.xmit_us == now_us && !last.retransmitted && !last.lost && !last.sacked) {
            last.end = end;
            return true;
        }
        if (n_ == kMaxEntries) {
            // Full: fold two neighbours with the same marks into one, keeping the later time. A later time only
            // delays RACK's verdict on them (the RTO still covers them), never calls a delivered segment lost.
            ++overflows_;
            uint32_t k = 0;
            while (k + 1 < n_ && !(at(k).sacked == at(k + 1).sacked && at(k).lost == at(k + 1).lost &&
                                   at(k).end == at(k + 1).start)) {
                ++k;
            }
            if (k + 1 < n_) {
                at(k).end = at(k + 1).end;
                at(k).xmit_us = std::max(at(k).xmit_us, at(k + 1).xmit_us);
                at(k).retransmitted |= at(k + 1).retransmitted;
                for (uint32_t j = k + 1; j + 1 < n_; ++j) at(j) = at(j + 1);
                --n_;
            } else {
                last.end = end;  // no pair to fold: the new data joins the last entry
                last.xmit_us = now_us;
                last.sacked = last.lost = false;
                return true;
            }
        }
        insert_at(n_, Entry{start, end, now_us, false, false, false});
        return true;
    }
    // A retransmission: the entries covering [start, end) take the new time (split off first where there is room;
    // where there is not, the whole entry takes it, which again only delays a verdict).
    bool found = false;
    for (uint32_t i = 0; i < n_; ++i) {
        if (at(i).end <= start) continue;
        if (end <= at(i).start) break;
        if (split(i, start) && at(i).end <= start) continue;  // the part before `start` stays as it was
        split(i, end);
        Entry& e = at(i);
        e.xmit_us = now_us;
        e.retransmitted = true;
        e.lost = false;
        found = true;
    }
    return found;
}

// ---------------------------------------------------------------- per ACK

void Rack::on_rtt_sample(uint32_t rtt_us, uint64_t now_us) noexcept { path_.on_rtt_sample(rtt_us, now_us); }

// RFC 8985 §6.2 step 2 (RACK_update) for one newly delivered piece ending at `end`; step 3 (reordering).
void Rack::delivered(const Entry& e, Seq end, const Ack& a) noexcept {
    if (!have_fack_ || end > fack_) {
        fack_ = end;
        have_fack_ = true;
    } else if (end < fack_ && !e.retransmitted) {
        path_.reordering_seen = true;
    }
    const uint64_t rtt = a.now_us > e.xmit_us ? a.now_us - e.xmit_us : 0;  // on_send may run a µs ahead
    if (e.retransmitted) {
        // The ACK may be for the original transmission: ignore it when the echo predates the retransmission or the
        // RTT is implausibly short.
        if (a.ts_echo_us != 0 && a.ts_echo_us < e.xmit_us) return;
        if (rtt < path_.min_rtt_us) return;
    }
    if (!have_rack_ || sent_after(e.xmit_us, end, xmit_us_, end_seq_)) {
        rtt_us_ = static_cast<uint32_t>(std::min<uint64_t>(rtt, UINT32_MAX));
        xmit_us_ = e.xmit_us;
        end_seq_ = end;
        have_rack_ = true;
    }
}

void Rack::update_reo_wnd(const Ack& a) noexcept {
    // RFC 8985 §6.2 step 4: grow the window once per round that sees a D-SACK, reset after 16 clean recoveries.
    RackPath& p = path_;
    if (p.dsack_round_valid && a.snd_una >= p.dsack_round) p.dsack_round_valid = false;
    if (!p.dsack_round_valid && a.dsack) {
        p.dsack_round = a.snd_nxt;
        p.dsack_round_valid = true;
        if (p.reo_wnd_mult < UINT8_MAX) ++p.reo_wnd_mult;
        p.reo_wnd_persist = RackPath::kReoWndPersist;
    } else if (a.recovery_ended) {
        if (p.reo_wnd_persist > 0) --p.reo_wnd_persist;
        if (p.reo_wnd_persist == 0) p.reo_wnd_mult = 1;
    }
}

uint32_t Rack::reo_wnd_us(uint32_t srtt_us, bool in_recovery, uint32_t segs_sacked) const noexcept {
    if (!path_.reordering_seen && (in_recovery || segs_sacked >= kDupThresh)) return 0;
    if (path_.min_rtt_us == UINT32_MAX) return 0;
    const uint64_t w = static_cast<uint64_t>(path_.min_rtt_us / 4) * path_.reo_wnd_mult;
    return static_cast<uint32_t>(std::min<uint64_t>(w, srtt_us));
}

// RFC 8985 §6.2 step 5: a segment sent before the most recently delivered one is lost once RACK.rtt + reo_wnd has
// passed since it was sent; otherwise the reorder timer must fire when it would be.
Rack::Result Rack::detect_loss(uint64_t now_us, uint32_t reo_wnd_us) noexcept {
    Result r;
    if (!have_rack_) return r;
    for (uint32_t i = 0; i < n_; ++i) {
        Entry& e = at(i);
        if (e.sacked || e.lost || !sent_after(xmit_us_, end_seq_, e.xmit_us, e.end)) continue;
        const uint64_t deadline = e.xmit_us + rtt_us_ + reo_wnd_us;
        if (now_us >= deadline) {
            e.lost = true;
            ++r.newly_lost;
        } else {
            r.reo_timeout_us = std::max(r.reo_timeout_us, deadline - now_us);
        }
    }
    return r;
}

Rack::Result Rack::on_ack(const Ack& a) noexcept {
    // Cut entries at SND.UNA and at each block's edges so every entry is wholly acknowledged or wholly not.
    for (uint32_t i = 0; i < n_; ++i) {
        split(i, a.snd_una);
        for (uint32_t b = 0; b < a.n_sacked; ++b) {
            if (!usable(a.sacked[b], a.snd_una, a.snd_nxt)) continue;
            split(i, a.sacked[b].left);
            split(i, a.sacked[b].right);
        }
    }
    // In sequence order, which is end_seq order as step 3 wants.
    uint32_t keep_from = 0;
    for (uint32_t i = 0; i < n_; ++i) {
        Entry& e = at(i);
        if (e.end <= a.snd_una) {
            if (!e.sacked) delivered(e, e.end, a);
            keep_from = i + 1;
            continue;
        }
        if (e.sacked) continue;
        for (uint32_t b = 0; b < a.n_sacked; ++b) {
            if (usable(a.sacked[b], a.snd_una, a.snd_nxt) && a.sacked[b].left <= e.start && e.end <= a.sacked[b].right) {
                e.sacked = true;
                e.lost = false;
                delivered(e, e.end, a);
                break;
            }
        }
    }
    head_ = (head_ + keep_from) % kMaxEntries;
    n_ -= keep_from;
    if (n_ > 0 && at(0).start < a.snd_una) at(0).start = a.snd_una;  // a partial ACK no split could isolate
    update_reo_wnd(a);
    return detect_loss(a.now_us, reo_wnd_us(a.srtt_us, a.in_recovery, a.segs_sacked));
}

Rack::Result Rack::on_reorder_timeout(uint64_t now_us, uint32_t srtt_us, bool in_recovery,
                                      uint32_t segs_sacked) noexcept {
    return detect_loss(now_us, reo_wnd_us(srtt_us, in_recovery, segs_sacked));
}

uint32_t Rack::on_rto(uint64_t now_us, uint32_t srtt_us) noexcept {
    const uint64_t reo = reo_wnd_us(srtt_us, true, 0);  // RTO recovery
    uint32_t marked = 0;
    for (uint32_t i = 0; i < n_; ++i) {
        Entry& e = at(i);
        if (e.sacked || e.lost) continue;
        if (i == 0 || e.xmit_us + rtt_us_ + reo <= now_us) {  // entry 0 starts at SND.UNA
            e.lost = true;
            ++marked;
        }
    }
    return marked;
}

void Rack::clear(const RackPath& path) noexcept {
    *this = Rack{};
    path_ = path;
}

bool Rack::consistent(Seq snd_una) const noexcept {
    for (uint32_t i = 0; i < n_; ++i) {
        const Entry& e = at(i);
        if (!(e.start < e.end) || e.start < snd_una || (e.sacked && e.lost)) return false;
        if (i + 1 < n_ && at(i + 1).start < e.end) return false;
    }
    return true;
}

uint32_t Rack::lost_ranges(SeqRange* out, uint32_t max) const noexcept {
    uint32_t k = 0;
    for (uint32_t i = 0; i < n_; ++i) {
        const Entry& e = at(i);
        if (!e.lost) continue;
        if (k > 0 && out[k - 1].right == e.start) {
            out[k - 1].right = e.end;
        } else if (k < max) {
            out[k++] = {e.start, e.end};
        } else {
            break;
        }
    }
    return k;
}

// ---------------------------------------------------------------- TLP

uint64_t Tlp::pto_us(uint32_t srtt_us, bool one_segment_in_flight, uint64_t rto_remaining_us,
                     uint32_t wc_delack_us) noexcept {
    uint64_t pto = 1'000'000;  // no RTT sample yet
    if (srtt_us != 0) {
        pto = 2ull * srtt_us;
        if (one_segment_in_flight) pto += wc_delack_us;  // the receiver may hold a lone segment's ACK that long
    }
    return std::min(pto, rto_remaining_us);
}

void Tlp::on_probe_sent(bool retransmission, Seq snd_nxt) noexcept {
    is_retrans_ = retransmission;
    end_seq_ = snd_nxt;
    active_ = true;
}

// RFC 8985 §7.4: was a loss repaired by the probe? A retransmitted probe that draws a D-SACK for itself duplicated
// data that had arrived; one acknowledged beyond it, or answered by a plain duplicate ACK, repaired a loss.
Tlp::Outcome Tlp::on_ack(Seq seg_ack, bool advanced_una, bool has_sack, bool dsack, SeqRange dsack_range) noexcept {
    if (!active_ || seg_ack < end_seq_) return Outcome::none;
    if (!is_retrans_) {
        active_ = false;
        return Outcome::no_loss;
    }
    if (dsack && in_range(end_seq_ - 1, dsack_range.left, dsack_range.right)) {
        active_ = false;
        return Outcome::no_loss;
    }
    if (seg_ack > end_seq_ || (!advanced_una && !has_sack)) {
        active_ = false;
        return Outcome::loss_repaired;
    }
    return Outcome::none;  // the ACK of the original or of the probe: the next ACK (or its D-SACK) tells
}

}  // namespace synack::tcp
