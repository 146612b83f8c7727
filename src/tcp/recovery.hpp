// Loss recovery bookkeeping that sits between the scoreboard and congestion control:
//  - Prr: how much may be sent on each ACK during recovery (RFC 6937 proportional rate reduction, with the
//    slow-start reduction bound PRR-SSRB), so the window comes down to ssthresh smoothly instead of in a step.
//  - FastRecovery: duplicate-ACK counting with limited transmit (RFC 3042), fast retransmit on the third duplicate
//    (RFC 5681 §3.2) and NewReno's `recover` with full and partial ACKs (RFC 6582 §3.2), for peers without SACK
//    (with SACK the same entry and exit rules hold, and the scoreboard says what to resend).
// Pure state and arithmetic in bytes; the engine sends, arms timers and calls CongestionControl.
#pragma once
#include <cstdint>

#include "tcp/seq_number.hpp"

namespace synack::tcp {

class Prr {
public:
    /// RFC 6937 §3 on entering recovery: RecoverFS = FlightSize (SND.NXT - SND.UNA), counters to 0.
    void start(uint32_t recover_fs) noexcept {
        recover_fs_ = recover_fs == 0 ? 1 : recover_fs;
        prr_delivered_ = 0;
        prr_out_ = 0;
    }
    /// RFC 6937 §3 per ACK in recovery: `delivered` = the change in SND.UNA plus newly SACKed bytes, `pipe` from
    /// the scoreboard (RFC 6675 SetPipe), `ssthresh` from congestion control. Returns sndcnt, the bytes this ACK
    /// lets out; cwnd for the engine is pipe + sndcnt.
    uint32_t on_ack(uint32_t delivered, uint32_t pipe, uint32_t ssthresh, uint32_t smss) noexcept {
        prr_delivered_ += delivered;
        int64_t sndcnt;
        if (pipe > ssthresh) {
            // Proportional part: CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out, the ceiling taken to a
            // whole SMSS (as Linux counts in segments): the sender sends full-sized segments.
            const uint64_t bytes = (prr_delivered_ * ssthresh + recover_fs_ - 1) / recover_fs_;
            const uint64_t allowed = (bytes + smss - 1) / smss * smss;
            sndcnt = static_cast<int64_t>(allowed) - static_cast<int64_t>(prr_out_);
        } else {
            // PRR-SSRB: grow back towards ssthresh no faster than slow start, at least one SMSS per ACK.
            const int64_t owed = static_cast<int64_t>(prr_delivered_) - static_cast<int64_t>(prr_out_);
            const int64_t limit = (owed > delivered ? owed : delivered) + smss;
            const int64_t room = static_cast<int64_t>(ssthresh) - pipe;
            sndcnt = room < limit ? room : limit;
        }
        return sndcnt > 0 ? static_cast<uint32_t>(sndcnt) : 0;
    }
    /// Every byte sent or resent during recovery.
    void on_sent(uint32_t bytes) noexcept { prr_out_ += bytes; }

    uint64_t prr_delivered() const noexcept { return prr_delivered_; }
    uint64_t prr_out() const noexcept { return prr_out_; }
    uint32_t recover_fs() const noexcept { return recover_fs_; }

private:
    uint64_t prr_delivered_ = 0;
    uint64_t prr_out_ = 0;
    uint32_t recover_fs_ = 1;
};

class FastRecovery {
public:
    static constexpr uint8_t kDupThresh = 3;

    enum class Action : uint8_t {
        none,
        limited_transmit,  ///< RFC 3042: send one new segment (1st and 2nd duplicate), cwnd unchanged
        fast_retransmit,   ///< enter recovery: cc.on_congestion_event(), resend SND.UNA's segment, Prr::start()
        partial_ack,       ///< RFC 6582 §3.2 step 5: resend the first unacknowledged segment, stay in recovery
        full_ack,          ///< RFC 6582 §3.2 step 4 (full): recovery over, cc.on_recovery_exit()
    };

    /// A new connection: recover = ISS (RFC 6582 §3.2 step 1). `recover_` is kept one past the octet the RFC names
    /// (SND.MAX rather than the highest octet sent), so "covers more than recover" reads SEG.ACK >= recover_.
    void reset(Seq iss) noexcept {
        recover_ = iss + 1;
        dupacks_ = 0;
        in_recovery_ = false;
    }

    /// A duplicate ACK (RFC 5681 §2: no data, no window change, SND.UNA unchanged, data outstanding).
    Action on_dupack(Seq seg_ack, Seq snd_max) noexcept {
        if (in_recovery_) return Action::none;  // the recovery in progress (PRR) decides what goes out
        if (dupacks_ < UINT8_MAX) ++dupacks_;
        if (dupacks_ < kDupThresh) return Action::limited_transmit;
        if (dupacks_ > kDupThresh) return Action::none;
        // RFC 6582 §3.2 step 2: only when the ACK covers more than `recover`; otherwise these are duplicates from
        // the retransmissions of an earlier recovery (or a timeout), not a new loss.
        if (seg_ack < recover_) return Action::none;
        recover_ = snd_max;
        in_recovery_ = true;
        return Action::fast_retransmit;
    }

    /// An ACK that advanced SND.UNA to `seg_ack`.
    Action on_new_ack(Seq seg_ack) noexcept {
        dupacks_ = 0;
        if (!in_recovery_) return Action::none;
        if (seg_ack >= recover_) {  // RFC 6582 §3.2 step 3: all the data up to and including recover
            in_recovery_ = false;
            return Action::full_ack;
        }
        return Action::partial_ack;
    }

    /// The retransmission timer expired (RFC 6582 §3.2 step 4): recover = the highest sequence sent; recovery ends.
    void on_rto(Seq snd_max) noexcept {
        recover_ = snd_max;
        in_recovery_ = false;
        dupacks_ = 0;
    }

    /// Entering recovery on RACK's verdict rather than on duplicates (RFC 8985 §7.4 / §6.3): same bookkeeping.
    void enter(Seq snd_max) noexcept {
        recover_ = snd_max;
        in_recovery_ = true;
    }

    bool in_recovery() const noexcept { return in_recovery_; }
    Seq recover() const noexcept { return recover_; }
    uint8_t dupacks() const noexcept { return dupacks_; }

private:
    Seq recover_;
    uint8_t dupacks_ = 0;
    bool in_recovery_ = false;
};

}  // namespace synack::tcp
