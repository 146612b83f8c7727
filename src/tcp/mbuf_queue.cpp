#include "tcp/mbuf_queue.hpp"

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
