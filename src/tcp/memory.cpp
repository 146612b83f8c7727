// Memory no peer can exhaust. Every mbuf a connection holds (receive buffer, reassembly, send buffer) is charged
// at its true size, so one-byte segments cost what they pin, per connection and per engine (Engine::recharge).
// Budgets come from the pool; a reserve of the pool is left to the receive path, so ARP and the ACKs and RSTs
// that free memory always get in. Above the high watermark the engine collapses, prunes out-of-order data,
// stops opening windows, refuses sends with -EAGAIN, and at last resets the connections that hold the most memory
// for the least progress.
#include <algorithm>

#include "tcp/engine.hpp"
#include "tcp/seq_number.hpp"

namespace synack::tcp {
namespace {
constexpr uint32_t kMemCheckMs = 100;     ///< pressure aborts and waking writers: at most this often
constexpr uint32_t kPoolCheckUs = 1000;   ///< how stale the pool-reserve flag may be
constexpr uint32_t kAbortBatch = 8;       ///< connections reset per check at most
constexpr uint32_t kMinAllowanceMbufs = 8;  ///< under pressure a connection may still queue this much to send
constexpr uint32_t kSustainedMs = 2000;   ///< pressure this long (held between the watermarks) also aborts...
constexpr uint32_t kIdleMs = 1000;        ///< ...connections idle this long, down to the low watermark
}  // namespace

void Engine::init_memory() noexcept {
    while ((tsc_hz_ >> (stamp_shift_ + 1)) >= 1000) ++stamp_shift_;  // the largest power of two <= 1 ms
    const uint32_t size = pool_->size;
    mbuf_true_ = rte_pktmbuf_data_room_size(pool_) + sizeof(rte_mbuf);
    rx_reserve_ = cfg_.rx_reserve_mbufs != 0 ? cfg_.rx_reserve_mbufs : std::max<uint32_t>(256, size / 8);
    rx_reserve_ = std::min(rx_reserve_, size / 2);
    // Half the rest of the reserve's size again covers the RX ring's own mbufs and packets on their way out.
    const uint32_t budget_mbufs = size > 2 * rx_reserve_ ? size - 2 * rx_reserve_ : size / 4;
    mem_limit_ = cfg_.mem_limit != 0 ? cfg_.mem_limit : uint64_t{budget_mbufs} * mbuf_true_;
    mem_high_ = mem_limit_ * cfg_.mem_pressure_pct / 100;
    mem_low_ = mem_limit_ * (cfg_.mem_pressure_pct - 10) / 100;
    conn_rcv_limit_ = cfg_.conn_rcv_mem != 0 ? cfg_.conn_rcv_mem : std::max(2 * cfg_.rcv_buf, 4 * mbuf_true_);
    // A full send buffer copied in mbufs of the smallest usual MSS (536): a peer announcing a tinier MSS fills
    // its buffer with fewer bytes rather than with more mbufs.
    conn_snd_limit_ = cfg_.conn_snd_mem != 0 ? cfg_.conn_snd_mem : (cfg_.snd_buf / 536 + 1) * mbuf_true_;
    conn_min_ = std::min(kMinAllowanceMbufs * mbuf_true_, conn_snd_limit_);
}

// Pressure as Linux's tcp_memory_pressure: on above the high watermark, off only below the low one.
void Engine::pressure_update() noexcept {
    if (!pressure_ && mem_used_ >= mem_high_) {
        pressure_ = true;
        pressure_since_ = now_;
        ++ctr_.mem_pressure_entered;
    } else if (pressure_ && mem_used_ < mem_low_) {
        pressure_ = false;
    }
}

// Copies small held segments into full mbufs (the receive buffer and each held range), as Linux's collapse.
void Engine::collapse(Tcb& tcb) noexcept {
    if (pool_low_) return;  // collapsing borrows an mbuf at a time from the pool
    uint32_t saved = tcb.rcv_buf.collapse(pool_, 2);
    if (tcb.ooo != nullptr)
        for (uint32_t i = 0; i < tcb.ooo->count; ++i) saved += tcb.ooo->seg[i].data.collapse(pool_, 1);
    ctr_.mbufs_collapsed += saved;
    recharge(tcb);
}

// RFC 2018 §8: the receiver may discard data it queued out of order, even data it reported in SACK blocks
// (reneging); the sender keeps everything until it is cumulatively acknowledged and sends it again. So held
// out-of-order data is what goes first when memory runs short, the range farthest from RCV.NXT first.
uint32_t Engine::prune_last(Tcb& tcb) noexcept {
    if (tcb.ooo == nullptr || tcb.ooo->count == 0) return 0;
    const uint32_t bytes = tcb.ooo->seg[tcb.ooo->count - 1].data.bytes;
    sack_forget(tcb, tcb.ooo->seg[tcb.ooo->count - 1].seq, tcb.ooo->seg[tcb.ooo->count - 1].end());
    const uint32_t freed = tcb.ooo->drop_last();
    ++ctr_.ooo_pruned;
    ctr_.ooo_pruned_bytes += bytes;
    if (tcb.ooo->count == 0) free_ooo(tcb);
    recharge(tcb);
    return freed;
}

// Engine-wide: out-of-order ranges of every connection, newest first within each, until at most `target` is held.
// Starts where the last prune stopped, so that no connection is always the first to lose its data.
void Engine::prune_all_ooo(uint64_t target) noexcept {
    const uint32_t blocks = std::max<uint32_t>(64, cfg_.max_connections / 16);
    for (uint32_t n = 0; n < blocks && ooo_in_use_ > 0 && mem_used_ > target; ++n) {
        ReassemblyBlock& b = ooo_blocks_[prune_cursor_];
        prune_cursor_ = prune_cursor_ + 1 == blocks ? 0 : prune_cursor_ + 1;
        if (b.next_free != nullptr || b.count == 0) continue;  // on the free list, or empty
        Tcb& tcb = tcbs_[b.owner];
        if (!tcb.in_use || tcb.ooo != &b) continue;
        while (tcb.ooo != nullptr && mem_used_ > target) prune_last(tcb);
    }
}

// In-order data about to be held: within the connection's budget (collapsing first if that makes room) and
// below the engine's hard limit (pruning out-of-order data everywhere first). In-order data is the last to go.
bool Engine::rx_admit(Tcb& tcb, uint32_t ts) noexcept {
    if (tcb.mem_rcv + ts > conn_rcv_limit_ || mem_used_ + ts > mem_high_) collapse(tcb);
    while (tcb.mem_rcv + ts > conn_rcv_limit_ && prune_last(tcb) > 0) {
    }
    if (tcb.mem_rcv + ts > conn_rcv_limit_) return false;
    if (mem_used_ + ts > mem_limit_) prune_all_ooo(mem_low_);
    return mem_used_ + ts <= mem_limit_;
}

// Out-of-order data about to be held: never past the connection's budget (its newer ranges go first, and a
// segment newer than all of them is itself the one refused), and not at all while the engine is under pressure
// unless pruning everyone's out-of-order data ends it.
bool Engine::ooo_admit(Tcb& tcb, Seq seq, uint32_t ts) noexcept {
    if (tcb.mem_rcv + ts <= conn_rcv_limit_ && !pressure_ && mem_used_ + ts < mem_high_) [[likely]]
        return true;
    if (tcb.mem_rcv + ts > conn_rcv_limit_) {
        collapse(tcb);
        while (tcb.mem_rcv + ts > conn_rcv_limit_ && tcb.ooo != nullptr &&
               tcb.ooo->seg[tcb.ooo->count - 1].seq > seq)
            prune_last(tcb);
        if (tcb.mem_rcv + ts > conn_rcv_limit_) return false;
    }
    if (pressure_ || mem_used_ + ts >= mem_high_) {
        prune_all_ooo(mem_low_);
        pressure_update();
        if (pressure_ || mem_used_ + ts >= mem_high_) return false;
    }
    return true;
}

// How many more bytes SEND may copy for this connection, as far as memory goes: within its own budget, the
// engine's hard limit, under pressure only a small allowance, and nothing while the pool is down to the
// receive reserve. Counted in main-pool mbufs of one MSS each (bulk mbufs carry more per true byte).
uint32_t Engine::send_mem_room(const Tcb& tcb, uint32_t mss) noexcept {
    if (pool_low_) [[unlikely]] {
        wake_writers_ = true;
        return 0;
    }
    uint64_t room = conn_snd_limit_ > tcb.mem_snd ? conn_snd_limit_ - tcb.mem_snd : 0;
    const uint64_t engine_room = mem_limit_ > mem_used_ ? mem_limit_ - mem_used_ : 0;
    room = std::min(room, engine_room);
    if (pressure_) [[unlikely]]
        room = std::min<uint64_t>(room, conn_min_ > tcb.mem_snd ? conn_min_ - tcb.mem_snd : 0);
    if (room < mbuf_true_ && (pressure_ || engine_room < mbuf_true_)) wake_writers_ = true;
    return static_cast<uint32_t>(std::min<uint64_t>(room / mbuf_true_ * mss, UINT32_MAX));
}

// One pass over the TCBs keeps the kAbortBatch worst (memory held times time without progress); they are reset
// worst first until the engine holds less than `target`.
void Engine::abort_worst(uint64_t target, uint32_t min_idle) noexcept {
    struct Pick {
        uint64_t score;
        uint32_t idx;
    };
    Pick worst[kAbortBatch];
    uint32_t n = 0;
    const uint32_t now = stamp();
    for (uint32_t i = 0; i < cfg_.max_connections; ++i) {
        const Tcb& t = tcbs_[i];
        const uint32_t mem = t.mem_rcv + t.mem_snd;
        if (!t.in_use || mem == 0 || now - t.progress_at < min_idle) continue;
        const uint64_t score = uint64_t{mem} * (now - t.progress_at + 1);
        if (n == kAbortBatch && score <= worst[n - 1].score) continue;
        uint32_t pos = n < kAbortBatch ? n++ : n - 1;
        for (; pos > 0 && worst[pos - 1].score < score; --pos) worst[pos] = worst[pos - 1];
        worst[pos] = Pick{score, i};
    }
    for (uint32_t k = 0; k < n && mem_used_ >= target; ++k) {
        Tcb& t = tcbs_[worst[k].idx];
        ++ctr_.conn_aborted_memory;
        give_up(t, EventType::memory_aborted,
                t.in(State::syn_received | State::established | State::fin_wait_1 | State::fin_wait_2 | State::close_wait));
    }
}

void Engine::give_up(Tcb& tcb, EventType why, bool with_rst) noexcept {
    if (with_rst)
        reset_peer(tcb, tcb.snd_max);
    terminate(tcb, why);
}

// Called from advance(): the pool-reserve flag every millisecond; under pressure, every kMemCheckMs, prune and
// then reset the worst connections (see abort_worst); once memory is back, wake the writers that were refused.
void Engine::mem_check() noexcept {
    if (now_ >= next_pool_check_) {
        next_pool_check_ = now_ + us_to_cycles(kPoolCheckUs);
        // rte_mempool_avail_count walks every lcore's cache: once a millisecond, not per mbuf.
        pool_low_ = rte_mempool_avail_count(pool_) < rx_reserve_;
    }
    if (now_ < next_mem_check_) return;
    next_mem_check_ = now_ + ms_to_cycles(kMemCheckMs);
    if (pressure_) {
        if (mem_used_ >= mem_high_) prune_all_ooo(mem_low_);
        // Above the high watermark: down below it, whoever holds the memory. Pressure that lasts (memory held
        // between the watermarks, windows and sends throttled for everyone): connections idle for a while, down
        // to the low watermark, which ends it.
        const bool over = mem_used_ >= mem_high_;
        const bool sustained = now_ - pressure_since_ >= ms_to_cycles(kSustainedMs);
        if (over || sustained) abort_worst(over ? mem_high_ : mem_low_, over ? 0 : ms_to_stamps(kIdleMs));
        pressure_update();
    }
    if (wake_writers_ && !pressure_ && !pool_low_) {
        wake_writers_ = false;
        for (uint32_t i = 0; i < cfg_.max_connections; ++i) {
            Tcb& t = tcbs_[i];
            if (t.in_use && t.want_writable && t.in(kCanSend) && !t.fin_queued) {
                t.want_writable = false;
                emit(t, EventType::writable);
            }
        }
    }
}

}  // namespace synack::tcp
