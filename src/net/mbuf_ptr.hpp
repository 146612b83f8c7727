/// @file
/// A move-only owner of one received mbuf (chain): freed when the owner goes out of scope unless release()d
/// into a queue that takes it over. Received packets travel the TCP input path in one of these, so no branch can
/// forget a free or free twice; the compiler inserts the one free where a path ends.
#pragma once
#include <utility>

#include <rte_mbuf.h>

namespace synack::net {

class MbufPtr {
public:
    MbufPtr() noexcept = default;
    explicit MbufPtr(rte_mbuf* m) noexcept : m_(m) {}
    MbufPtr(MbufPtr&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
    MbufPtr& operator=(MbufPtr&& o) noexcept {
        if (this != &o) reset(std::exchange(o.m_, nullptr));
        return *this;
    }
    MbufPtr(const MbufPtr&) = delete;
    MbufPtr& operator=(const MbufPtr&) = delete;
    ~MbufPtr() {
        if (m_ != nullptr) rte_pktmbuf_free(m_);
    }

    rte_mbuf* get() const noexcept { return m_; }
    explicit operator bool() const noexcept { return m_ != nullptr; }
    /// Hands the mbuf over (to a queue that now owns it); this handle is empty afterwards.
    [[nodiscard]] rte_mbuf* release() noexcept { return std::exchange(m_, nullptr); }
    /// Frees what is held now (if anything) and holds `m`.
    void reset(rte_mbuf* m = nullptr) noexcept {
        if (m_ != nullptr) rte_pktmbuf_free(m_);
        m_ = m;
    }

private:
    rte_mbuf* m_ = nullptr;
};

}  // namespace synack::net
