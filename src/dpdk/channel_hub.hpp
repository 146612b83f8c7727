// The cores' side of the Channels: which channel owns each connection, which channels listen behind each listener,
// the bytes a channel sent that the send buffer has not taken yet, and the wake-up of parked channel threads.
// One PerCore slot per worker, touched only by that worker while Stack::run runs; the channel list is fixed then.
#pragma once
#include <sched.h>

#include <cstdint>
#include <memory>
#include <vector>

#include <rte_mbuf.h>

#include "synack/channel.hpp"
#include "synack/stack.hpp"

namespace synack::dpdk {

class ChannelHub {
public:
    static constexpr unsigned kMaxChannels = 64;  // one bit each in PerCore::dirty

    ChannelHub() = default;
    ~ChannelHub();  // frees bytes still pending; call before the mbuf pools go
    ChannelHub(const ChannelHub&) = delete;
    ChannelHub& operator=(const ChannelHub&) = delete;

    /// Cold: the channel list changes only while no core runs. attach() returns the channel's index.
    unsigned attach(Channel::Impl* ch);
    void detach(Channel::Impl* ch) noexcept;
    bool empty() const noexcept { return channels_.empty(); }
    /// The CPUs the polling lcores run on (set by the Stack before any channel attaches).
    void set_poller_cpus(const cpu_set_t& cpus) noexcept { poller_cpus_ = cpus; }
    const cpu_set_t& poller_cpus() const noexcept { return poller_cpus_; }
    /// How many worker cores (engines) the Stack runs: a channel keeps a queue pair per worker. More than the
    /// lcores with --loopback on one lcore, where two engines share it.
    void set_workers(unsigned n) noexcept { workers_ = n; }
    unsigned workers() const noexcept { return workers_; }
    /// The App Stack::run gives the cores: the hub's hooks around `user`'s callbacks.
    /// `free_cpus`: application CPUs no lcore uses; 0 when they are shared with the pollers, who then yield to
    /// the threads they wake (see ChannelHub::wake).
    const App& wrap(const App& user, unsigned workers, unsigned free_cpus);
    /// After the cores stopped: every channel's wait() returns false from now on.
    void stopped() noexcept;
    void set_running(bool r) noexcept { running_ = r; }
    bool running() const noexcept { return running_; }

private:
    struct Pending {  // bytes accepted from a channel but not yet taken by the send buffer
        rte_mbuf* head = nullptr;
        uint32_t off = 0;  // already sent from head
        bool close_after = false;
    };
    struct Conn {
        Pending pending;
        uint32_t gen = 0;     // the ConnId generation `owner` belongs to
        uint16_t owner = 0;   // channel index + 1; 0: the App's
    };
    struct Route {  // the channels behind one listener of a core
        uint16_t port = 0;
        std::vector<uint16_t> channels;
        uint32_t next = 0;
    };
    struct alignas(64) PerCore {
        std::vector<Conn> conns;    // by ConnId.index
        std::vector<Route> routes;  // by listener id
        uint64_t dirty = 0;         // channels given events in this loop iteration
        uint64_t pushed = 0;        // channels given events in the previous one: wake() looks at them
    };

    static void on_start(Core& core, void* ctx);
    static void on_event(Core& core, const Event& ev, void* ctx);
    static void on_poll(Core& core, void* ctx);
    void commands(Core& core, PerCore& pc, unsigned ch);
    void deliver(PerCore& pc, unsigned ch, const ChannelEvent& e) noexcept;
    void wake(PerCore& pc, unsigned core) noexcept;
    void flush(Core& core, Conn& c, ConnId id) noexcept;
    static void forget(Conn& c) noexcept;
    uint16_t pick(PerCore& pc, uint16_t listener) noexcept;

    std::vector<Channel::Impl*> channels_;
    std::vector<std::unique_ptr<PerCore>> cores_;
    App user_{};
    App app_{};
    bool running_ = false;
    bool yield_on_wake_ = false;
    unsigned workers_ = 0;
    cpu_set_t poller_cpus_{};
};

}  // namespace synack::dpdk
