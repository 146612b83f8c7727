#include "tcp/mbuf_queue.hpp"

#include <algorithm>
#include <cstring>

namespace synack::tcp {

void MbufQueue::append_chain(rte_mbuf* m) noexcept {
    while (m != nullptr) {
        rte_mbuf* next = m->next;
        m->next = nullptr;
        m->nb_segs = 1;
        m->pkt_len = m->data_len;
        if (m->data_len == 0) {
            rte_pktmbuf_free_seg(m);
        } else {
            if (tail != nullptr)
                tail->next = m;
            else
                head = m;
            tail = m;
            bytes += m->data_len;
            truesize += mbuf_truesize(m);
        }
        m = next;
    }
}

void MbufQueue::append_range(rte_mbuf* m, uint32_t off, uint32_t len) noexcept {
    while (m != nullptr) {
        rte_mbuf* next = m->next;
        m->next = nullptr;
        m->nb_segs = 1;
        const uint32_t dlen = m->data_len;
        if (off >= dlen || len == 0) {
            off -= off >= dlen ? dlen : off;
            rte_pktmbuf_free_seg(m);
        } else if (uint32_t take = dlen - off < len ? dlen - off : len; take <= kCoalesceMax && can_grow_tail(take)) {
            // A small piece goes into the tail's free room: a peer sending one-byte segments must not pin one
            // 2 KB mbuf per byte (that would drain the pool for everyone).
            std::memcpy(rte_pktmbuf_mtod_offset(tail, uint8_t*, tail->data_len), rte_pktmbuf_mtod_offset(m, const uint8_t*, off), take);
            tail->data_len = static_cast<uint16_t>(tail->data_len + take);
            tail->pkt_len = tail->data_len;
            bytes += take;
            off = 0;
            len -= take;
            rte_pktmbuf_free_seg(m);
        } else {
            m->data_off = static_cast<uint16_t>(m->data_off + off);
            m->data_len = static_cast<uint16_t>(take);
            m->pkt_len = take;
            off = 0;
            len -= take;
            if (tail != nullptr)
                tail->next = m;
            else
                head = m;
            tail = m;
            bytes += take;
            truesize += mbuf_truesize(m);
        }
        m = next;
    }
}

void MbufQueue::drop_front(uint32_t n) noexcept {
    while (n > 0 && head != nullptr) {
        if (n < head->data_len) {
            rte_pktmbuf_adj(head, static_cast<uint16_t>(n));
            bytes -= n;
            return;
        }
        rte_mbuf* m = head;
        n -= m->data_len;
        bytes -= m->data_len;
        truesize -= mbuf_truesize(m);
        head = m->next;
        m->next = nullptr;
        rte_pktmbuf_free_seg(m);
    }
    if (head == nullptr) tail = nullptr;
}

uint32_t MbufQueue::read(void* dst, uint32_t len) noexcept {
    auto* out = static_cast<uint8_t*>(dst);
    uint32_t copied = 0;
    for (rte_mbuf* m = head; m != nullptr && copied < len; m = m->next) {
        uint32_t n = m->data_len < len - copied ? m->data_len : len - copied;
        std::memcpy(out + copied, rte_pktmbuf_mtod(m, const uint8_t*), n);
        copied += n;
    }
    drop_front(copied);
    return copied;
}

rte_mbuf* MbufQueue::take_chain() noexcept {
    if (head == nullptr) return nullptr;
    rte_mbuf* h = head;
    uint16_t segs = 0;
    for (rte_mbuf* m = h; m != nullptr; m = m->next) ++segs;
    h->nb_segs = segs;
    h->pkt_len = bytes;
    head = tail = nullptr;
    bytes = 0;
    truesize = 0;
    return h;
}

void MbufQueue::clear() noexcept {
    while (head != nullptr) {
        rte_mbuf* m = head;
        head = m->next;
        m->next = nullptr;
        rte_pktmbuf_free_seg(m);
    }
    tail = nullptr;
    bytes = 0;
    truesize = 0;
}

uint32_t MbufQueue::collapse(rte_mempool* pool, uint32_t min_saved) noexcept {
    const uint32_t room = rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM;
    // Segments at least half full stay as they are (a previous collapse made them, or the peer sent them so):
    // only the rest is copied, so repeated collapses do not copy the same bytes again.
    if (head != nullptr && head->next != nullptr && uint32_t{head->data_len} * 2 >= room) {
        rte_mbuf* last_full = head;
        uint32_t full_bytes = head->data_len, full_true = mbuf_truesize(head);
        while (last_full->next != nullptr && uint32_t{last_full->next->data_len} * 2 >= room) {
            last_full = last_full->next;
            full_bytes += last_full->data_len;
            full_true += mbuf_truesize(last_full);
        }
        if (last_full->next == nullptr) return 0;
        MbufQueue rest{last_full->next, tail, bytes - full_bytes, truesize - full_true};
        const uint32_t saved = rest.collapse(pool, min_saved);
        last_full->next = rest.head;
        tail = rest.tail;
        bytes = full_bytes + rest.bytes;
        truesize = full_true + rest.truesize;
        return saved;
    }
    uint32_t segs = 0;
    for (const rte_mbuf* m = head; m != nullptr; m = m->next) ++segs;
    const uint32_t needed = (bytes + room - 1) / room;
    if (room == 0 || segs < needed + min_saved) return 0;
    // One old segment at a time: copied, then freed, so at most one mbuf more than before is held meanwhile.
    MbufQueue out;
    rte_mbuf* m = head;
    while (m != nullptr) {
        uint32_t off = 0;
        while (off < m->data_len) {
            if (out.tail == nullptr || rte_pktmbuf_tailroom(out.tail) == 0) {
                rte_mbuf* fresh = rte_pktmbuf_alloc(pool);
                if (fresh == nullptr) break;
                out.push_back_seg(fresh);
            }
            rte_mbuf* t = out.tail;
            const uint32_t n = std::min<uint32_t>(m->data_len - off, rte_pktmbuf_tailroom(t));
            std::memcpy(rte_pktmbuf_mtod_offset(t, uint8_t*, t->data_len), rte_pktmbuf_mtod_offset(m, const uint8_t*, off), n);
            t->data_len = static_cast<uint16_t>(t->data_len + n);
            t->pkt_len = t->data_len;
            out.bytes += n;
            off += n;
        }
        if (off < m->data_len) {  // the pool ran dry: keep the rest of this segment and all after it as they are
            rte_pktmbuf_adj(m, static_cast<uint16_t>(off));
            bytes -= off;
            break;
        }
        rte_mbuf* next = m->next;
        m->next = nullptr;
        truesize -= mbuf_truesize(m);
        bytes -= off;
        rte_pktmbuf_free_seg(m);
        m = next;
    }
    // `m` onwards is what was not copied.
    const uint32_t kept_bytes = bytes, kept_true = truesize;
    rte_mbuf* kept_tail = m != nullptr ? tail : nullptr;
    head = out.head;
    tail = out.tail;
    bytes = out.bytes;
    truesize = out.truesize;
    if (m != nullptr) {
        if (tail != nullptr) tail->next = m; else head = m;
        tail = kept_tail;
        bytes += kept_bytes;
        truesize += kept_true;
    }
    uint32_t after = 0;
    for (const rte_mbuf* s = head; s != nullptr; s = s->next) ++after;
    return segs > after ? segs - after : 0;
}

rte_mbuf* MbufQueue::find(uint32_t offset, uint32_t& in_seg) const noexcept {
    for (rte_mbuf* m = head; m != nullptr; m = m->next) {
        if (offset < m->data_len) {
            in_seg = offset;
            return m;
        }
        offset -= m->data_len;
    }
    return nullptr;
}

void SendQueue::drop_front(uint32_t n) noexcept {
    const uint32_t dropped = n < bytes ? n : bytes;
    // Is the hinted segment among those freed? It is when it lies wholly inside the dropped bytes.
    if (hint_ != nullptr && hint_off_ + hint_->data_len <= dropped) hint_ = nullptr;
    MbufQueue::drop_front(n);
    if (hint_ == head) hint_off_ = 0;  // also right when both are nullptr
    else if (hint_ != nullptr) hint_off_ -= dropped;
}

rte_mbuf* SendQueue::find(uint32_t offset, uint32_t& in_seg) const noexcept {
    rte_mbuf* m = head;
    uint32_t start = 0;  // offset of m's first byte
    if (hint_ != nullptr && hint_off_ <= offset) {
        m = hint_;
        start = hint_off_;
    }
    for (; m != nullptr; m = m->next) {
        if (offset - start < m->data_len) {
            hint_ = m;
            hint_off_ = start;
            in_seg = offset - start;
            return m;
        }
        start += m->data_len;
    }
    return nullptr;
}

}  // namespace synack::tcp
