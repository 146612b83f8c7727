// --share-kernel: how a worker learns a next hop's MAC from the kernel without making a system call. The worker
// posts the address it misses (net::Interface's resolver, on a miss and on each retry) and keeps its packets held
// in the neighbour entry; a control thread (XdpShare) takes the question, reads the kernel's neighbour table or
// asks the kernel to resolve, and posts the MAC back; the worker takes the answers on its next poll. Two
// Boost.Lockfree SPSC queues per worker, so neither side ever waits for the other.
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

/// One worker's questions to the control thread and their answers. ask() and deliver() on the worker only,
/// serve() on the control thread only.
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
    /// false: no answer yet, the worker asks again on its retry). A question is taken only while an answer has
    /// room, so no answer is ever dropped. Returns how many questions it took.
    template <class Lookup>
    unsigned serve(Lookup&& lookup) {
        unsigned n = 0;
        NeighbourAnswer a{};
        while (answers_.write_available() > 0 && queries_.pop(a.query)) {
            ++n;
            if (lookup(a.query, a.mac)) answers_.push(a);
        }
        return n;
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

private:
    boost::lockfree::spsc_queue<NeighbourQuery, boost::lockfree::capacity<kCapacity>> queries_;
    boost::lockfree::spsc_queue<NeighbourAnswer, boost::lockfree::capacity<kCapacity>> answers_;
};

}  // namespace synack::dpdk
