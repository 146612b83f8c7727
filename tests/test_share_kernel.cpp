// --share-kernel's options and the ephemeral range it moves: the engine's active opens stay inside
// TcpConfig::ephemeral_low..high (the XDP program redirects exactly that range to synack), and the options
// parse and refuse as documented; the mailbox that carries next-hop questions to the control thread and back.
#include <atomic>
#include <chrono>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "dpdk/neighbour_mailbox.hpp"
#include "engine_harness.hpp"
#include "synack/stack.hpp"

using namespace synack;
using namespace synack::test;

namespace {

Options parse(std::vector<std::string> args) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    return parse_options(static_cast<int>(argv.size()), argv.data());
}

TEST(ShareKernelOptions, AddressComesFromTheInterfaceSoIpIsOptional) {
    EXPECT_THROW(parse({"--port", "7"}), std::invalid_argument);
    const Options o = parse({"--share-kernel", "--port", "7"});
    EXPECT_TRUE(o.share_kernel);
    EXPECT_EQ(o.ip, 0u);
    EXPECT_FALSE(o.ephemeral_given);
    EXPECT_THROW(parse({"--share-kernel", "--loopback"}), std::invalid_argument);
    EXPECT_THROW(parse({"--share-kernel", "--exception-tap", "sk0"}), std::invalid_argument);
}

TEST(ShareKernelOptions, EphemeralPortsAreParsedAndChecked) {
    const Options o = parse({"--ip", "10.0.0.1/24", "--ephemeral-ports", "61000-65535"});
    EXPECT_TRUE(o.ephemeral_given);
    EXPECT_EQ(o.tcp.ephemeral_low, 61000);
    EXPECT_EQ(o.tcp.ephemeral_high, 65535);
    for (const char* bad : {"61000", "0-100", "5000-4000", "1-65536", "a-b", "-"})
        EXPECT_THROW(parse({"--ip", "10.0.0.1/24", "--ephemeral-ports", bad}), std::invalid_argument) << bad;
    const Options d = parse({"--ip", "10.0.0.1/24"});
    EXPECT_EQ(d.tcp.ephemeral_low, 32768);  // Linux's default range
    EXPECT_EQ(d.tcp.ephemeral_high, 60999);
}

TEST(ShareKernelEngine, ActiveOpensUseOnlyTheConfiguredRangeAndWrapInsideIt) {
    TcpConfig cfg = test_config();
    cfg.ephemeral_low = 65530;
    cfg.ephemeral_high = 65535;  // six ports, the top of the space: the wrap must not overflow to 0
    EngineHarness h(cfg);
    std::set<uint16_t> used;
    for (int i = 0; i < 6; ++i) {
        ConnId c;
        ASSERT_EQ(h.engine.connect(EngineHarness::kUs, 0, EngineHarness::kThem, 80, 1, c), 0);
        const auto segs = h.out();
        ASSERT_EQ(segs.size(), 1u);
        EXPECT_GE(segs[0].src_port, 65530);
        used.insert(segs[0].src_port);
    }
    EXPECT_EQ(used.size(), 6u);  // every port of the range, each once
    ConnId c;
    EXPECT_LT(h.engine.connect(EngineHarness::kUs, 0, EngineHarness::kThem, 80, 1, c), 0);  // exhausted: in use
    h.none();
}

TEST(ShareKernelEngine, AnEmptyRangeIsRefused) {
    TcpConfig cfg = test_config();
    cfg.ephemeral_low = 2000;
    cfg.ephemeral_high = 1999;
    EXPECT_THROW(EngineHarness h(cfg), std::invalid_argument);
}

// The worker's next-hop questions to XdpShare's control thread and the answers back (dpdk/neighbour_mailbox.hpp).
using dpdk::NeighbourAnswer;
using dpdk::NeighbourMailbox;
using dpdk::NeighbourQuery;

rte_ether_addr mac_for(uint32_t ip) {  // a distinct, recognisable MAC per address
    return rte_ether_addr{{0x02, 0, static_cast<uint8_t>(ip >> 24), static_cast<uint8_t>(ip >> 16),
                           static_cast<uint8_t>(ip >> 8), static_cast<uint8_t>(ip)}};
}
bool is_mac_for(const rte_ether_addr& mac, uint32_t ip) {
    const rte_ether_addr want = mac_for(ip);
    return rte_is_same_ether_addr(&mac, &want);
}

TEST(NeighbourMailbox, QuestionsKeepTheirOrderAndFamilyAndABoundedNumberWait) {
    NeighbourMailbox mb;
    wire::Ip6Addr a6{};
    a6.b[0] = 0xfd;
    a6.b[15] = 7;
    EXPECT_TRUE(NeighbourMailbox::ask(&mb, 0x0a000001));
    EXPECT_TRUE(NeighbourMailbox::ask6(&mb, a6));
    for (uint32_t i = 2; i < NeighbourMailbox::kCapacity; ++i) EXPECT_TRUE(NeighbourMailbox::ask(&mb, 0x0a000000 + i));
    EXPECT_FALSE(NeighbourMailbox::ask(&mb, 0x0a0000ff));  // full: the worker's next retry asks again
    std::vector<NeighbourQuery> seen;
    EXPECT_EQ(mb.serve([&](const NeighbourQuery& q, rte_ether_addr&) {
        seen.push_back(q);
        return false;  // nothing known yet: no answer
    }),
              NeighbourMailbox::kCapacity);
    ASSERT_EQ(seen.size(), NeighbourMailbox::kCapacity);
    EXPECT_FALSE(seen[0].v6);
    EXPECT_EQ(seen[0].ip, 0x0a000001u);
    EXPECT_TRUE(seen[1].v6);
    EXPECT_EQ(seen[1].ip6, a6);
    for (uint32_t i = 2; i < NeighbourMailbox::kCapacity; ++i) EXPECT_EQ(seen[i].ip, 0x0a000000 + i);
    EXPECT_EQ(mb.take_answers([](const NeighbourAnswer&) { ADD_FAILURE() << "no answer was posted"; }), 0u);
    EXPECT_TRUE(NeighbourMailbox::ask(&mb, 0x0a0000ff));  // room again
}

TEST(NeighbourMailbox, AQuestionIsTakenOnlyWhileItsAnswerHasRoomSoNoAnswerIsLost) {
    NeighbourMailbox mb;
    const auto known = [](const NeighbourQuery& q, rte_ether_addr& mac) {
        mac = mac_for(q.ip);
        return true;
    };
    for (uint32_t i = 0; i < NeighbourMailbox::kCapacity; ++i) ASSERT_TRUE(NeighbourMailbox::ask(&mb, 100 + i));
    EXPECT_EQ(mb.serve(known), NeighbourMailbox::kCapacity);
    for (uint32_t i = 0; i < 3; ++i) ASSERT_TRUE(NeighbourMailbox::ask(&mb, 500 + i));
    EXPECT_EQ(mb.serve(known), 0u);  // every answer slot taken: the questions wait
    std::vector<uint32_t> got;
    const auto take = [&](const NeighbourAnswer& a) {
        EXPECT_TRUE(is_mac_for(a.mac, a.query.ip));
        got.push_back(a.query.ip);
    };
    EXPECT_EQ(mb.take_answers(take), NeighbourMailbox::kCapacity);
    EXPECT_EQ(mb.serve(known), 3u);
    EXPECT_EQ(mb.take_answers(take), 3u);
    ASSERT_EQ(got.size(), NeighbourMailbox::kCapacity + 3);
    for (uint32_t i = 0; i < NeighbourMailbox::kCapacity; ++i) EXPECT_EQ(got[i], 100 + i);
    EXPECT_EQ(got.back(), 502u);
}

TEST(NeighbourMailbox, AControlThreadAnswersEveryQuestionOnceWhileTheWorkerNeverWaits) {
    NeighbourMailbox mb;
    std::atomic<bool> stop{false};
    std::thread control([&] {
        while (!stop.load(std::memory_order_acquire))
            if (mb.serve([](const NeighbourQuery& q, rte_ether_addr& mac) {
                    if (q.ip % 3 == 0) return false;  // "not in the kernel's table yet"
                    mac = mac_for(q.ip);
                    return true;
                }) == 0)
                std::this_thread::yield();
    });
    constexpr uint32_t kQuestions = 3000;
    uint32_t next = 1, deferred = 0, answers = 0, expect = 1;
    bool in_order = true, macs_right = true;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while ((next <= kQuestions || answers < kQuestions - kQuestions / 3) &&
           std::chrono::steady_clock::now() < deadline) {
        if (next <= kQuestions) {
            if (NeighbourMailbox::ask(&mb, next)) {
                ++next;
            } else {
                ++deferred;
                std::this_thread::yield();
            }
        }
        mb.take_answers([&](const NeighbourAnswer& a) {
            if (expect % 3 == 0) ++expect;
            in_order &= a.query.ip == expect;
            macs_right &= is_mac_for(a.mac, a.query.ip);
            ++expect;
            ++answers;
        });
    }
    stop.store(true, std::memory_order_release);
    control.join();
    EXPECT_EQ(next, kQuestions + 1);
    EXPECT_EQ(answers, kQuestions - kQuestions / 3);  // every known address answered, exactly once
    EXPECT_TRUE(in_order);
    EXPECT_TRUE(macs_right);
    RecordProperty("deferred", static_cast<int>(deferred));
}

TEST(NeighbourMailbox, AQuestionTheKernelCouldNotAnswerIsAnsweredOnceByItsNotification) {
    NeighbourMailbox mb;
    const auto unknown = [](const NeighbourQuery&, rte_ether_addr&) { return false; };
    std::vector<uint32_t> got;
    const auto take = [&](const NeighbourAnswer& a) {
        EXPECT_TRUE(is_mac_for(a.mac, a.query.ip));
        got.push_back(a.query.ip);
    };
    NeighbourQuery q;
    q.ip = 0x0a000002;
    ASSERT_TRUE(NeighbourMailbox::ask(&mb, q.ip));
    EXPECT_EQ(mb.serve(unknown), 1u);
    EXPECT_EQ(mb.take_answers(take), 0u);
    NeighbourQuery other = q;
    other.ip = 0x0a000003;
    EXPECT_FALSE(mb.notify(other, mac_for(other.ip)));  // nobody asked for it
    NeighbourQuery as_v6;
    as_v6.v6 = true;
    EXPECT_FALSE(mb.notify(as_v6, mac_for(0)));  // another family
    EXPECT_TRUE(mb.notify(q, mac_for(q.ip)));
    EXPECT_FALSE(mb.notify(q, mac_for(q.ip)));  // answered already: no second answer
    EXPECT_EQ(mb.take_answers(take), 1u);
    EXPECT_EQ(got, std::vector<uint32_t>{q.ip});

    // Answered by the table on a retry: the notification that follows adds nothing.
    ASSERT_TRUE(NeighbourMailbox::ask(&mb, other.ip));
    EXPECT_EQ(mb.serve(unknown), 1u);
    ASSERT_TRUE(NeighbourMailbox::ask(&mb, other.ip));
    EXPECT_EQ(mb.serve([](const NeighbourQuery& x, rte_ether_addr& mac) {
        mac = mac_for(x.ip);
        return true;
    }),
              1u);
    EXPECT_FALSE(mb.notify(other, mac_for(other.ip)));
    EXPECT_EQ(mb.take_answers(take), 1u);
}

TEST(NeighbourMailbox, WaitingQuestionsAreBoundedAndANotificationWaitsForRoomForItsAnswer) {
    NeighbourMailbox mb;
    const auto unknown = [](const NeighbourQuery&, rte_ether_addr&) { return false; };
    constexpr uint32_t kWaiting = 16;  // what the mailbox keeps waiting
    for (uint32_t i = 0; i <= kWaiting; ++i) ASSERT_TRUE(NeighbourMailbox::ask(&mb, 100 + i));
    EXPECT_EQ(mb.serve(unknown), kWaiting + 1);
    NeighbourQuery q;
    q.ip = 100;
    EXPECT_FALSE(mb.notify(q, mac_for(q.ip)));  // the first gave way to the seventeenth: its retry asks again
    for (uint32_t i = 1; i <= kWaiting; ++i) {
        q.ip = 100 + i;
        EXPECT_TRUE(mb.notify(q, mac_for(q.ip))) << i;
    }
    // Answers full: a notification finds no room, and its question keeps waiting until there is.
    ASSERT_TRUE(NeighbourMailbox::ask(&mb, 7));
    EXPECT_EQ(mb.serve(unknown), 1u);
    for (uint32_t i = 0; i < NeighbourMailbox::kCapacity - kWaiting; ++i)
        ASSERT_TRUE(NeighbourMailbox::ask(&mb, 1000 + i));
    EXPECT_EQ(mb.serve([](const NeighbourQuery& x, rte_ether_addr& mac) {
        mac = mac_for(x.ip);
        return true;
    }),
              NeighbourMailbox::kCapacity - kWaiting);
    q.ip = 7;
    EXPECT_FALSE(mb.notify(q, mac_for(q.ip)));
    EXPECT_EQ(mb.take_answers([](const NeighbourAnswer&) {}), NeighbourMailbox::kCapacity);
    EXPECT_TRUE(mb.notify(q, mac_for(q.ip)));
    std::vector<uint32_t> got;
    EXPECT_EQ(mb.take_answers([&](const NeighbourAnswer& a) { got.push_back(a.query.ip); }), 1u);
    EXPECT_EQ(got, std::vector<uint32_t>{7});
}

}  // namespace
