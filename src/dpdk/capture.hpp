// --pcap FILE: pcapng of every frame synack receives and sends, from every worker core, with DPDK's rte_pcapng.
//
// Why a ring per core and one writer thread: the workers must not take a lock or make a system call per packet,
// and a pcapng file is one ordered stream. So each worker copies what it sees (rte_pcapng_copy, into a mempool of
// its own) and enqueues the copies on its own single-producer/single-consumer rte_ring; a control thread (not an
// lcore) drains every ring, writes with rte_pcapng_write_packets and frees the copies. A full ring or an empty
// pool drops the copy, never the packet, and counts it (pcap.dropped). The writer stops before the first frame that
// might take the file past --pcap-max-bytes and tells the workers, which then stop copying (pcap.over_limit counts
// what was left out).
#pragma once
#include <rte_mbuf.h>
#include <rte_pcapng.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

struct rte_ring;

namespace synack::dpdk {

class Capture {
public:
    /// Per worker: its ring and pool, touched on the fast path by that worker only (and drained by the writer).
    struct alignas(64) Tap {
        rte_ring* ring = nullptr;
        rte_mempool* pool = nullptr;
        const std::atomic<bool>* full = nullptr;
        uint64_t dropped = 0;     ///< copies lost to a full ring or an empty pool
        uint64_t over_limit = 0;  ///< frames not copied because the file reached its bound

        /// Copies `n` frames of `port`/`queue` seen at TSC `tsc` going `dir`. Never blocks, never fails the frames.
        void copy(rte_mbuf* const* pkts, uint16_t n, uint16_t port, uint16_t queue, uint64_t tsc,
                  rte_pcapng_direction dir) noexcept;
    };

    /// Opens `path` (truncating it) and makes one Tap per worker. Throws std::runtime_error with the reason.
    Capture(const std::string& path, uint64_t max_bytes, unsigned workers);
    ~Capture();  // stops the writer after draining every ring, closes the file
    Capture(const Capture&) = delete;
    Capture& operator=(const Capture&) = delete;

    Tap* tap(unsigned worker) noexcept { return &taps_[worker]; }
    void start();  // the writer thread
    void stop();   // drain and join (idempotent)
    uint64_t bytes_written() const noexcept { return bytes_.load(std::memory_order_relaxed); }
    uint64_t packets_written() const noexcept { return packets_.load(std::memory_order_relaxed); }
    /// Copies the writer threw away once the bound was reached (the workers count what they no longer copy).
    uint64_t discarded() const noexcept { return discarded_.load(std::memory_order_relaxed); }

private:
    bool drain_once();
    std::string path_;
    uint64_t max_bytes_;
    int fd_ = -1;
    rte_pcapng_t* pcapng_ = nullptr;
    std::unique_ptr<Tap[]> taps_;
    unsigned workers_;
    std::atomic<bool> full_{false};
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> bytes_{0}, packets_{0}, discarded_{0};
    std::thread writer_;
};

}  // namespace synack::dpdk
