#include "tcp/reassembly.hpp"

namespace synack::tcp {

bool ReassemblyBlock::insert(Seq seq, rte_mbuf* m, uint32_t off, uint32_t len, bool fin,
                             uint32_t limit) noexcept {
    Seq end = seq + len;
    // Trim away what earlier slots already hold; drop whole if covered (the copy we hold wins).
    for (uint32_t i = 0; i < count; ++i) {
        OooSegment& s = seg[i];
        if (len == 0 && seq == s.end()) {  // a bare FIN right after held data
            s.fin = s.fin || fin;
            rte_pktmbuf_free(m);
            return true;
        }
        if (s.seq <= seq && seq < s.end()) {
            uint32_t cut = s.end() - seq;
            if (cut >= len) {
                if (fin && end == s.end()) s.fin = true;
                rte_pktmbuf_free(m);
                return true;
            }
            seq += cut;
            off += cut;
            len -= cut;
        }
    }
    // Later slots that the new range swallows completely are released; a partial overlap trims the new tail.
    for (uint32_t i = 0; i < count;) {
        OooSegment& s = seg[i];
        if (seq <= s.seq && s.end() <= end) {
            fin = fin || (s.fin && s.end() == end);
            s.data.clear();
            for (uint32_t j = i + 1; j < count; ++j) seg[j - 1] = seg[j];
            --count;
            seg[count] = OooSegment{};
            continue;
        }
        if (seq < s.seq && s.seq < end) {
            len = s.seq - seq;
            end = s.seq;
            fin = false;
        }
        ++i;
    }
    if (len == 0 && !fin) {
        rte_pktmbuf_free(m);
        return true;
    }
    // Adjacent to a held range: grow it instead of taking a slot, so one hole costs one slot.
    for (uint32_t i = 0; i < count; ++i) {
        OooSegment& s = seg[i];
        if (s.end() == seq && !s.fin) {
            s.data.append_range(m, off, len);
            s.fin = fin;
            if (i + 1 < count && seg[i + 1].seq == s.end() && !s.fin) {  // the hole between two ranges closed
                s.data.splice(seg[i + 1].data);
                s.fin = seg[i + 1].fin;
                for (uint32_t j = i + 2; j < count; ++j) seg[j - 1] = seg[j];
                --count;
                seg[count] = OooSegment{};
            }
            return true;
        }
        if (s.seq == end && len > 0) {
            MbufQueue front;
            front.append_range(m, off, len);
            front.splice(s.data);
            s.data = front;
            s.seq = seq;
            return true;
        }
    }
    if (count >= limit || count >= kSlots) {
        rte_pktmbuf_free(m);
        return false;
    }
    uint32_t pos = 0;
    while (pos < count && seg[pos].seq < seq) ++pos;
    for (uint32_t j = count; j > pos; --j) seg[j] = seg[j - 1];
    seg[pos] = OooSegment{};
    seg[pos].seq = seq;
    seg[pos].fin = fin;
    seg[pos].data.append_range(m, off, len);
    ++count;
    return true;
}

uint32_t ReassemblyBlock::pull(Seq rcv_nxt, MbufQueue& out, bool& fin) noexcept {
    uint32_t moved = 0;
    fin = false;
    uint32_t taken = 0;
    while (taken < count && seg[taken].seq <= rcv_nxt) {
        OooSegment& s = seg[taken];
        if (rcv_nxt < s.end() || (s.fin && s.end() == rcv_nxt)) {
            s.data.drop_front(rcv_nxt - s.seq);
            const uint32_t n = s.data.bytes;
            out.splice(s.data);
            moved += n;
            rcv_nxt += n;
            if (s.fin) {
                fin = true;
                ++taken;
                break;
            }
        } else {
            s.data.clear();  // wholly below rcv_nxt: a duplicate
        }
        ++taken;
    }
    for (uint32_t j = taken; j < count; ++j) seg[j - taken] = seg[j];
    for (uint32_t j = count - taken; j < count; ++j) seg[j] = OooSegment{};
    count -= taken;
    return moved;
}

uint32_t ReassemblyBlock::bytes() const noexcept {
    uint32_t n = 0;
    for (uint32_t i = 0; i < count; ++i) n += seg[i].data.bytes;
    return n;
}

uint32_t ReassemblyBlock::truesize() const noexcept {
    uint32_t n = 0;
    for (uint32_t i = 0; i < count; ++i) n += seg[i].data.truesize;
    return n;
}

uint32_t ReassemblyBlock::drop_last() noexcept {
    if (count == 0) return 0;
    OooSegment& s = seg[--count];
    const uint32_t freed = s.data.truesize;
    s.data.clear();
    s = OooSegment{};
    return freed;
}

void ReassemblyBlock::clear() noexcept {
    for (uint32_t i = 0; i < count; ++i) seg[i].data.clear();
    count = 0;
}

}  // namespace synack::tcp
