// --share-kernel: how a worker learns a next hop's MAC from the kernel without making a system call. The worker
// posts the address it misses (net::Interface's resolver, on a miss and on each retry) and keeps its packets held
// in the neighbour entry; a control thread (XdpShare) takes the question, reads the kernel's neighbour table, and
// posts the MAC back, or asks the kernel to resolve and posts it when the kernel's notification of the new entry
// comes; the worker takes the answers on its next poll. Two Boost.Lockfree SPSC queues per worker, so neither
// side ever waits for the other.
#pragma once
#include <cstdint>

#include <boost/lockfree/spsc_queue.hpp>
#include <rte_ether.h>

#include "net/interface.hpp"
#include "wire/ipv6.hpp"

namespace synack::dpdk {

/// A next hop of either family: ip (host byte order) when !v6, ip6 otherwise.
struct NeighbourQuery {
    bool v6 = false;
    uint32_t ip = 0;
    wire::Ip6Addr ip6{};
};

struct NeighbourAnswer {
    NeighbourQuery query;
    rte_ether_addr mac;
};

/// One worker's questions to the control thread and their answers. ask(), take_answers() and deliver() on the
/// worker only; serve() and notify() on the control thread only.
class NeighbourMailbox {
public:
    static constexpr size_t kCapacity = 64;  ///< questions in flight; a retry asks again what did not fit

    /// net::Interface::Resolver: posts ip; false when the queue is full (the Interface counts it and asks again
    /// on its next retry, the packets staying held).
    static bool ask(void* self, uint32_t ip) noexcept {
        NeighbourQuery q;
        q.ip = ip;
        return static_cast<NeighbourMailbox*>(self)->queries_.push(q);
    }
    /// net::Interface::Resolver6: the same for an IPv6 next hop.
    static bool ask6(void* self, const wire::Ip6Addr& ip) noexcept {
        NeighbourQuery q;
        q.v6 = true;
        q.ip6 = ip;
        return static_cast<NeighbourMailbox*>(self)->queries_.push(q);
    }

    /// Control thread: answers the questions posted so far with lookup(query, mac) -> bool (true: mac filled in;
    /// false: not known yet, the question waits for notify()). A question is taken only while an answer has room,
    /// so no answer is ever dropped. Returns how many questions it took.
    template <class Lookup>
    unsigned serve(Lookup&& lookup) {
        unsigned n = 0;
        NeighbourAnswer a{};
        while (answers_.write_available() > 0 && queries_.pop(a.query)) {
            ++n;
            if (lookup(a.query, a.mac)) {
                forget(a.query);
                answers_.push(a);
            } else {
                remember(a.query);
            }
        }
        return n;
    }

    /// Control thread: the kernel announced q at mac (a neighbour notification). If a question for q is waiting,
    /// it is answered now rather than at the worker's next retry; true then.
    bool notify(const NeighbourQuery& q, const rte_ether_addr& mac) {
        Pending* p = find(q);
        if (p == nullptr || answers_.write_available() == 0) return false;  // full: the retry asks again
        p->used = false;
        answers_.push(NeighbourAnswer{q, mac});
        return true;
    }

    /// Worker: f(answer) for every answer posted so far, oldest first; returns how many. One load of the queue's
    /// indexes when there is none.
    template <class F>
    unsigned take_answers(F&& f) noexcept {
        unsigned n = 0;
        NeighbourAnswer a;
        while (answers_.pop(a)) {
            ++n;
            f(static_cast<const NeighbourAnswer&>(a));
        }
        return n;
    }

    /// Worker: hands every answer to iface, which releases the packets held for that next hop.
    void deliver(net::Interface& iface, uint64_t now) noexcept {
        take_answers([&](const NeighbourAnswer& a) {
            if (a.query.v6) iface.kernel_neighbour6(a.query.ip6, a.mac, now);
            else iface.kernel_neighbour(a.query.ip, a.mac, now);
        });
    }

    static bool same(const NeighbourQuery& a, const NeighbourQuery& b) noexcept {
        return a.v6 == b.v6 && (a.v6 ? a.ip6 == b.ip6 : a.ip == b.ip);
    }

private:
    // Questions lookup could not answer, on the control thread only. Bounded: when all are taken one gives way
    // (its worker asks again on its retry).
    struct Pending {
        NeighbourQuery q;
        bool used = false;
    };
    static constexpr size_t kPending = 16;
    Pending* find(const NeighbourQuery& q) noexcept {
        for (Pending& p : pending_)
            if (p.used && same(p.q, q)) return &p;
        return nullptr;
    }
    void remember(const NeighbourQuery& q) noexcept {
        if (find(q) != nullptr) return;
        for (Pending& p : pending_)
            if (!p.used) {
                p = Pending{q, true};
                return;
            }
        pending_[next_pending_++ % kPending] = Pending{q, true};  // all taken: one gives way, in turn
    }
    void forget(const NeighbourQuery& q) noexcept {
        if (Pending* p = find(q)) p->used = false;
    }
    Pending pending_[kPending];
    unsigned next_pending_ = 0;

    boost::lockfree::spsc_queue<NeighbourQuery, boost::lockfree::capacity<kCapacity>> queries_;
    boost::lockfree::spsc_queue<NeighbourAnswer, boost::lockfree::capacity<kCapacity>> answers_;
};

}  // namespace synack::dpdk
