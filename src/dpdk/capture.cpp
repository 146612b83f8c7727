#include "dpdk/capture.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "synack/version.hpp"

namespace synack::dpdk {
namespace {
constexpr unsigned kRingSize = 4096;     // per worker: about a millisecond of a busy core's frames
constexpr unsigned kPoolSize = 8191;     // copies in flight per worker (ring + the writer's batch)
constexpr uint16_t kWriteBurst = 64;
// An enhanced packet block's size at most: its header, trailer and the options rte_pcapng_copy adds (direction,
// queue), around the frame padded to 4 bytes. Used to stop before the file would pass --pcap-max-bytes.
constexpr uint64_t kBlockOverhead = 64;
uint64_t block_bound(const rte_mbuf* m) { return kBlockOverhead + ((rte_pktmbuf_pkt_len(m) + 3u) & ~3u); }
}  // namespace

void Capture::Tap::copy(rte_mbuf* const* pkts, uint16_t n, uint16_t port, uint16_t queue, uint64_t tsc,
                        rte_pcapng_direction dir) noexcept {
    if (full->load(std::memory_order_relaxed)) {
        over_limit += n;
        return;
    }
    rte_mbuf* copies[64];
    while (n > 0) {
        const uint16_t k = n < 64 ? n : 64;
        uint16_t made = 0;
        for (uint16_t i = 0; i < k; ++i) {
            rte_mbuf* c = rte_pcapng_copy(port, queue, pkts[i], pool, UINT32_MAX, tsc, dir);
            if (c != nullptr) copies[made++] = c;
        }
        const unsigned queued = rte_ring_sp_enqueue_burst(ring, reinterpret_cast<void**>(copies), made, nullptr);
        if (queued < made) rte_pktmbuf_free_bulk(copies + queued, made - queued);
        dropped += k - queued;
        pkts += k;
        n = static_cast<uint16_t>(n - k);
    }
}

Capture::Capture(const std::string& path, uint64_t max_bytes, unsigned workers)
    : path_(path), max_bytes_(max_bytes), taps_(std::make_unique<Tap[]>(workers)), workers_(workers) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) throw std::runtime_error("--pcap " + path + ": " + std::strerror(errno));
    const std::string app = std::string("synack ") + synack::version();
    pcapng_ = rte_pcapng_fdopen(fd_, nullptr, nullptr, app.c_str(), nullptr);
    if (pcapng_ == nullptr) {
        ::close(fd_);
        throw std::runtime_error("--pcap " + path + ": rte_pcapng_fdopen failed: " + rte_strerror(rte_errno));
    }
    for (unsigned w = 0; w < workers; ++w) {
        const std::string n = std::to_string(w);
        Tap& t = taps_[w];
        t.full = &full_;
        t.ring = rte_ring_create(("synack_pcap_r" + n).c_str(), kRingSize, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
        t.pool = rte_pktmbuf_pool_create(("synack_pcap_p" + n).c_str(), kPoolSize, 0, 0,
                                         static_cast<uint16_t>(rte_pcapng_mbuf_size(RTE_MBUF_DEFAULT_DATAROOM)),
                                         SOCKET_ID_ANY);
        if (t.ring == nullptr || t.pool == nullptr)
            throw std::runtime_error("--pcap: cannot create the capture ring/pool of worker " + n + ": " +
                                     rte_strerror(rte_errno) + " (a larger -m helps)");
    }
    bytes_.store(static_cast<uint64_t>(::lseek(fd_, 0, SEEK_CUR)), std::memory_order_relaxed);  // the headers
}

Capture::~Capture() {
    stop();
    for (unsigned w = 0; w < workers_; ++w) {
        rte_ring_free(taps_[w].ring);
        rte_mempool_free(taps_[w].pool);
    }
    if (pcapng_ != nullptr) rte_pcapng_close(pcapng_);  // closes fd_ too
}

// Writes what every ring holds; true when anything was there.
bool Capture::drain_once() {
    bool any = false;
    rte_mbuf* b[kWriteBurst];
    for (unsigned w = 0; w < workers_; ++w) {
        Tap& t = taps_[w];
        if (t.ring == nullptr) continue;
        unsigned n;
        while ((n = rte_ring_sc_dequeue_burst(t.ring, reinterpret_cast<void**>(b), kWriteBurst, nullptr)) > 0) {
            any = true;
            if (!full_.load(std::memory_order_relaxed)) {
                // Only the frames that surely fit under the bound; the first that might not ends the capture.
                uint64_t room = max_bytes_ - bytes_.load(std::memory_order_relaxed);
                unsigned fit = 0;
                for (; fit < n && block_bound(b[fit]) <= room; ++fit) room -= block_bound(b[fit]);
                const ssize_t wrote = fit > 0 ? rte_pcapng_write_packets(pcapng_, b, static_cast<uint16_t>(fit)) : 0;
                if (wrote > 0) {
                    bytes_.fetch_add(static_cast<uint64_t>(wrote), std::memory_order_relaxed);
                    packets_.fetch_add(fit, std::memory_order_relaxed);
                }
                if (wrote < 0 || fit < n) full_.store(true, std::memory_order_relaxed);
                discarded_.fetch_add(n - fit, std::memory_order_relaxed);
            } else {
                discarded_.fetch_add(n, std::memory_order_relaxed);
            }
            rte_pktmbuf_free_bulk(b, n);
        }
    }
    return any;
}

void Capture::start() {
    writer_ = std::thread([this] {
        while (!stop_.load(std::memory_order_acquire))
            if (!drain_once()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        drain_once();  // what the workers queued before they stopped
    });
}

void Capture::stop() {
    stop_.store(true, std::memory_order_release);
    if (writer_.joinable()) writer_.join();
}

}  // namespace synack::dpdk
