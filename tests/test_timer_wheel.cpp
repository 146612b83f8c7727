// Timing wheel: expiry exactly at the (tick-rounded) deadline, cancel and re-arm semantics, re-entrancy from the
// callback, and a randomized run against a std::multimap model. Time is injected, never read from the TSC.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "timer/wheel.hpp"

using synack::timer::TimerNode;
using synack::timer::Wheel;

namespace {

constexpr uint64_t kOrigin = 1'000'000'007;  // clock value at construction: non-zero, not tick-aligned
constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
constexpr uint64_t bit(unsigned n) { return uint64_t{1} << n; }

// Records fired nodes and the clock value at which each fired.
struct Log {
    std::vector<TimerNode*> nodes;
    std::vector<uint64_t> at;
};

}  // namespace

// Every deadline, from every starting position, fires at the deadline's tick and not one cycle before.
TEST(TimerWheel, FiresExactlyAtDeadlineNotATickBefore) {
    const uint64_t deadlines[] = {0,         1,        2,       63,       64,        65,
                                  255,       256,      257,     4095,     4096,      4097,
                                  65535,     65536,    bit(24) + 7,       bit(30) - 1, bit(32) + 5,
                                  bit(36) - 1, bit(36), bit(36) + 1, bit(40) + 3};
    const uint64_t starts[] = {0, 1, 63, 64, 4095, 123456, bit(32) - 3, bit(36) - 2};
    for (uint64_t cpt : {uint64_t{1}, uint64_t{1000}}) {
        for (uint64_t start : starts) {
            for (uint64_t d : deadlines) {
                SCOPED_TRACE(testing::Message() << "cycles_per_tick=" << cpt << " start=" << start << " d=" << d);
                Wheel w(kOrigin, cpt);
                TimerNode t;
                size_t n = 0;
                auto on_expire = [&](TimerNode& x) {
                    EXPECT_EQ(&x, &t);
                    EXPECT_FALSE(x.armed());
                    ++n;
                };
                const uint64_t base = kOrigin + start * cpt;
                ASSERT_EQ(w.advance(base, on_expire), 0u);
                const uint64_t deadline = base + d * cpt;
                w.schedule(t, deadline);
                ASSERT_TRUE(t.armed());
                EXPECT_EQ(t.expires, start + d);
                EXPECT_EQ(w.armed_count(), 1u);
                EXPECT_LE(w.earliest_deadline(), deadline);
                EXPECT_GE(w.earliest_deadline(), base);
                if (d > 0) {
                    EXPECT_EQ(w.advance(base + d * cpt / 2, on_expire), 0u);  // a cascade on the way
                    EXPECT_EQ(w.advance(deadline - 1, on_expire), 0u);
                    EXPECT_EQ(n, 0u);
                    EXPECT_TRUE(t.armed());
                }
                EXPECT_EQ(w.advance(deadline, on_expire), 1u);
                EXPECT_EQ(n, 1u);
                EXPECT_FALSE(t.armed());
                EXPECT_EQ(w.armed_count(), 0u);
                EXPECT_EQ(w.earliest_deadline(), kNever);
                EXPECT_EQ(w.advance(deadline + bit(40) * cpt, on_expire), 0u);
            }
        }
    }
}

// A deadline inside a tick waits for the end of that tick: never early, at most one tick late.
TEST(TimerWheel, RoundsDeadlineUpToWholeTick) {
    Wheel w(kOrigin, 1000);
    TimerNode a, b;
    Log log;
    auto rec = [&](TimerNode& x) { log.nodes.push_back(&x); };
    w.schedule(a, kOrigin + 4001);  // inside tick 4 -> tick 5
    w.schedule(b, kOrigin + 5000);  // exactly tick 5
    EXPECT_EQ(a.expires, 5u);
    EXPECT_EQ(b.expires, 5u);
    EXPECT_EQ(w.earliest_deadline(), kOrigin + 5000);
    EXPECT_EQ(w.advance(kOrigin + 4001, rec), 0u);
    EXPECT_EQ(w.advance(kOrigin + 4999, rec), 0u);
    EXPECT_EQ(w.advance(kOrigin + 5000, rec), 2u);
    EXPECT_EQ(log.nodes, (std::vector<TimerNode*>{&a, &b}));
    EXPECT_EQ(w.cycles_per_tick(), 1000u);
}

// A deadline already reached (or before the wheel existed) fires at the very next advance, same clock value.
TEST(TimerWheel, PastDeadlineFiresAtNextAdvance) {
    Wheel w(kOrigin, 10);
    Log log;
    auto rec = [&](TimerNode& x) { log.nodes.push_back(&x); };
    const uint64_t now = kOrigin + 1000;
    EXPECT_EQ(w.advance(now, rec), 0u);
    TimerNode a, b, c, d;
    w.schedule(a, kOrigin + 500);
    w.schedule(b, 0);  // before the wheel's origin
    w.schedule(c, now);
    w.schedule(d, kOrigin + 900);
    w.schedule(d, kOrigin + 2000);  // pushed back into the future before it fired
    EXPECT_EQ(w.armed_count(), 4u);
    EXPECT_EQ(w.earliest_deadline(), now);
    EXPECT_EQ(w.advance(now, rec), 3u);
    EXPECT_EQ(log.nodes, (std::vector<TimerNode*>{&a, &b, &c}));  // scheduling order
    EXPECT_TRUE(d.armed());
    EXPECT_EQ(w.advance(kOrigin + 1999, rec), 0u);
    EXPECT_EQ(w.advance(kOrigin + 2000, rec), 1u);
    EXPECT_EQ(log.nodes.back(), &d);
    EXPECT_EQ(w.armed_count(), 0u);
}

// A clock before the origin or going backwards fires nothing, not even due timers whose deadline it has not reached.
TEST(TimerWheel, ClockBeforeOriginOrBackwardsNeverFiresEarly) {
    Wheel w(kOrigin, 1);
    size_t n = 0;
    auto count = [&](TimerNode&) { ++n; };
    TimerNode t, u;
    w.schedule(t, kOrigin);
    EXPECT_EQ(w.advance(kOrigin - 1, count), 0u);
    EXPECT_EQ(w.advance(kOrigin, count), 1u);
    EXPECT_EQ(w.advance(kOrigin + 100, count), 0u);
    w.schedule(u, kOrigin + 50);  // already reached: due
    EXPECT_EQ(w.advance(kOrigin + 10, count), 0u);
    EXPECT_EQ(w.advance(kOrigin + 99, count), 0u);
    EXPECT_TRUE(u.armed());
    EXPECT_EQ(w.advance(kOrigin + 100, count), 1u);
    EXPECT_EQ(n, 2u);
}

TEST(TimerWheel, CancelPreventsFiring) {
    Wheel w(kOrigin, 1);
    Log log;
    auto rec = [&](TimerNode& x) {
        log.nodes.push_back(&x);
        log.at.push_back(x.expires);
    };
    TimerNode t[6], idle;
    const uint64_t at[6] = {10, 100, 5000, 300000, bit(33), bit(37) + 9};  // levels 0, 1, 2, 3, 5, beyond range
    for (int i = 0; i < 6; ++i) w.schedule(t[i], kOrigin + at[i]);
    EXPECT_EQ(w.armed_count(), 6u);
    w.cancel(t[1]);
    w.cancel(t[4]);
    w.cancel(t[4]);  // twice: no-op
    w.cancel(idle);  // never armed: no-op
    EXPECT_FALSE(t[1].armed());
    EXPECT_FALSE(idle.armed());
    EXPECT_EQ(w.armed_count(), 4u);
    EXPECT_EQ(w.advance(kOrigin + 200000, rec), 2u);  // t[0], t[2]
    w.cancel(t[5]);
    EXPECT_EQ(w.advance(kOrigin + bit(38), rec), 1u);  // t[3]
    EXPECT_EQ(log.nodes, (std::vector<TimerNode*>{&t[0], &t[2], &t[3]}));
    EXPECT_EQ(log.at, (std::vector<uint64_t>{10, 5000, 300000}));
    EXPECT_EQ(w.armed_count(), 0u);

    TimerNode due;  // cancelled while waiting in the due list
    w.schedule(due, kOrigin);
    w.cancel(due);
    EXPECT_EQ(w.advance(kOrigin + bit(38), rec), 0u);
    EXPECT_EQ(w.earliest_deadline(), kNever);
}

TEST(TimerWheel, RescheduleEarlier) {
    Wheel w(kOrigin, 1);
    size_t n = 0;
    auto count = [&](TimerNode&) { ++n; };
    TimerNode t;
    w.schedule(t, kOrigin + 100000);
    w.schedule(t, kOrigin + 70);
    EXPECT_EQ(w.armed_count(), 1u);
    EXPECT_EQ(t.expires, 70u);
    EXPECT_LE(w.earliest_deadline(), kOrigin + 70);  // start of its level-1 slot
    EXPECT_GT(w.earliest_deadline(), kOrigin);
    EXPECT_EQ(w.advance(kOrigin + 69, count), 0u);
    EXPECT_EQ(w.advance(kOrigin + 70, count), 1u);
    EXPECT_EQ(w.advance(kOrigin + 200000, count), 0u);  // not again at the old deadline
    EXPECT_EQ(n, 1u);

    // Earlier within the same higher-level slot, after part of the way has been covered.
    w.schedule(t, kOrigin + 250000 + 4000);
    EXPECT_EQ(w.advance(kOrigin + 250000, count), 0u);
    w.schedule(t, kOrigin + 250000 + 3000);
    EXPECT_EQ(w.advance(kOrigin + 252999, count), 0u);
    EXPECT_EQ(w.advance(kOrigin + 253000, count), 1u);
    EXPECT_EQ(n, 2u);
}

TEST(TimerWheel, RescheduleLater) {
    Wheel w(kOrigin, 1);
    size_t n = 0;
    auto count = [&](TimerNode&) { ++n; };
    TimerNode t;
    w.schedule(t, kOrigin + 70);
    w.schedule(t, kOrigin + 100000);
    EXPECT_EQ(w.armed_count(), 1u);
    EXPECT_EQ(t.expires, 100000u);
    EXPECT_LE(w.earliest_deadline(), kOrigin + 100000);
    EXPECT_EQ(w.advance(kOrigin + 70, count), 0u);
    EXPECT_EQ(w.advance(kOrigin + 99999, count), 0u);
    EXPECT_EQ(w.advance(kOrigin + 100000, count), 1u);

    // Pushed later again and again (RTO restarted by every ACK), past the wheel's range, then pulled in.
    const uint64_t base = kOrigin + 100000;
    w.schedule(t, base + 10);
    for (uint64_t d = 20; d < 2000; d += 10) {
        EXPECT_EQ(w.advance(base + d - 15, count), 0u);
        w.schedule(t, base + d);
    }
    w.schedule(t, base + bit(37) + 3);
    EXPECT_EQ(w.advance(base + bit(36), count), 0u);
    w.schedule(t, base + bit(36) + 500);
    EXPECT_EQ(w.advance(base + bit(36) + 499, count), 0u);
    EXPECT_EQ(w.advance(base + bit(36) + 500, count), 1u);
    EXPECT_EQ(w.advance(base + bit(38), count), 0u);
    EXPECT_EQ(n, 2u);
    EXPECT_EQ(w.armed_count(), 0u);
}

// A periodic timer re-armed from its own callback fires once per period, and once per advance after a long gap.
TEST(TimerWheel, RearmFromCallback) {
    Wheel w(kOrigin, 1);
    TimerNode t;
    uint64_t now = kOrigin;
    std::vector<uint64_t> fired_at;
    auto periodic = [&](TimerNode& x) {
        EXPECT_EQ(&x, &t);
        EXPECT_FALSE(x.armed());
        fired_at.push_back(now - kOrigin);
        w.schedule(x, now + 10);
        EXPECT_TRUE(x.armed());
    };
    w.schedule(t, kOrigin + 10);
    for (now = kOrigin + 1; now <= kOrigin + 100; ++now) w.advance(now, periodic);
    EXPECT_EQ(fired_at, (std::vector<uint64_t>{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}));
    EXPECT_EQ(w.armed_count(), 1u);
    now = kOrigin + 1000000;
    EXPECT_EQ(w.advance(now, periodic), 1u);
    EXPECT_EQ(t.expires, 1000010u);

    // Re-armed with a deadline already reached: waits for the next advance instead of spinning in this one.
    size_t n = 0;
    auto stale = [&](TimerNode& x) {
        ++n;
        w.schedule(x, now - 5);
    };
    now = kOrigin + 1000010;
    EXPECT_EQ(w.advance(now, stale), 1u);
    EXPECT_EQ(w.advance(now, stale), 1u);
    EXPECT_EQ(n, 2u);
    w.cancel(t);
    EXPECT_EQ(w.armed_count(), 0u);
}

// A timer armed by a callback for a deadline inside the window being advanced fires in the same call, in order.
TEST(TimerWheel, TimerArmedByCallbackInsideWindowFiresInSameAdvance) {
    Wheel w(kOrigin, 1);
    TimerNode a, b;
    Log log;
    auto cb = [&](TimerNode& x) {
        log.nodes.push_back(&x);
        log.at.push_back(x.expires);
        if (&x == &a) w.schedule(b, kOrigin + 5000);
    };
    w.schedule(a, kOrigin + 10);
    EXPECT_EQ(w.advance(kOrigin + 10000, cb), 2u);
    EXPECT_EQ(log.nodes, (std::vector<TimerNode*>{&a, &b}));
    EXPECT_EQ(log.at, (std::vector<uint64_t>{10, 5000}));
}

// Two timers in the same slot: whichever fires first cancels the other, so exactly one fires.
TEST(TimerWheel, CancelOtherFromCallback) {
    for (uint64_t at : {uint64_t{30}, uint64_t{300}, uint64_t{4096}, bit(36) + 77}) {
        SCOPED_TRACE(testing::Message() << "at=" << at);
        Wheel w(kOrigin, 1);
        TimerNode a, b, later;
        size_t n = 0;
        auto cb = [&](TimerNode& x) {
            ++n;
            w.cancel(&x == &a ? b : a);
            w.cancel(later);
        };
        w.schedule(a, kOrigin + at);
        w.schedule(b, kOrigin + at);
        w.schedule(later, kOrigin + at + 100);  // due within the same advance, in another slot
        EXPECT_EQ(w.advance(kOrigin + at + bit(20), cb), 1u);
        EXPECT_EQ(n, 1u);
        EXPECT_FALSE(a.armed());
        EXPECT_FALSE(b.armed());
        EXPECT_FALSE(later.armed());
        EXPECT_EQ(w.armed_count(), 0u);
    }
}

// Two timers in the same slot: whichever fires first moves the other, later or into the past.
TEST(TimerWheel, RescheduleOtherFromCallback) {
    {
        Wheel w(kOrigin, 1);
        TimerNode a, b;
        size_t n = 0;
        auto cb = [&](TimerNode& x) {
            ++n;
            TimerNode& other = &x == &a ? b : a;
            if (other.armed()) w.schedule(other, kOrigin + 500);
        };
        w.schedule(a, kOrigin + 300);
        w.schedule(b, kOrigin + 300);
        EXPECT_EQ(w.advance(kOrigin + 300, cb), 1u);
        EXPECT_EQ(w.advance(kOrigin + 499, cb), 0u);
        EXPECT_EQ(w.advance(kOrigin + 500, cb), 1u);
        EXPECT_EQ(n, 2u);
    }
    {
        Wheel w(kOrigin, 1);
        TimerNode a, b;
        size_t n = 0;
        auto cb = [&](TimerNode& x) {
            ++n;
            TimerNode& other = &x == &a ? b : a;
            if (other.armed()) w.schedule(other, kOrigin + 200);  // already passed: due at the next advance
        };
        w.schedule(a, kOrigin + 300);
        w.schedule(b, kOrigin + 300);
        EXPECT_EQ(w.advance(kOrigin + 300, cb), 1u);
        EXPECT_EQ(w.armed_count(), 1u);
        EXPECT_EQ(w.advance(kOrigin + 300, cb), 1u);
        EXPECT_EQ(n, 2u);
        EXPECT_EQ(w.armed_count(), 0u);
    }
}

TEST(TimerWheel, ArmedCountBookkeeping) {
    Wheel w(kOrigin, 1);
    auto none = [](TimerNode&) {};
    EXPECT_EQ(w.armed_count(), 0u);
    TimerNode t[5];
    w.schedule(t[0], kOrigin + 10);
    w.schedule(t[1], kOrigin + 1000);
    w.schedule(t[2], kOrigin + bit(40));
    EXPECT_EQ(w.armed_count(), 3u);
    w.schedule(t[1], kOrigin + 20);  // re-arm: same count
    w.schedule(t[2], kOrigin + bit(41));
    EXPECT_EQ(w.armed_count(), 3u);
    w.schedule(t[3], 0);  // already due
    EXPECT_EQ(w.armed_count(), 4u);
    w.cancel(t[2]);
    w.cancel(t[2]);
    w.cancel(t[4]);
    EXPECT_EQ(w.armed_count(), 3u);
    size_t seen_in_cb = 99;
    auto rearm = [&](TimerNode& x) {
        seen_in_cb = w.armed_count();  // x already disarmed
        if (&x == &t[0]) w.schedule(x, kOrigin + 50);
    };
    EXPECT_EQ(w.advance(kOrigin + 10, rearm), 2u);  // t[3] (due), then t[0] re-armed
    EXPECT_EQ(seen_in_cb, 1u);
    EXPECT_EQ(w.armed_count(), 2u);
    EXPECT_EQ(w.advance(kOrigin + 50, none), 2u);
    EXPECT_EQ(w.armed_count(), 0u);
}

// The owner gets back to itself from the embedded node with offsetof.
TEST(TimerWheel, OwnerRecoveredWithOffsetof) {
    struct Conn {
        uint32_t id;
        TimerNode rto_timer;
    };
    Wheel w(kOrigin, 1);
    std::vector<Conn> conns(100);
    for (uint32_t i = 0; i < conns.size(); ++i) {
        conns[i].id = i;
        w.schedule(conns[i].rto_timer, kOrigin + 1 + (i * 37) % 100);
    }
    std::vector<uint32_t> ids;
    w.advance(kOrigin + 1000, [&](TimerNode& n) {
        auto* c = reinterpret_cast<Conn*>(reinterpret_cast<char*>(&n) - offsetof(Conn, rto_timer));
        EXPECT_EQ(n.expires, 1 + (c->id * 37) % 100);
        ids.push_back(c->id);
    });
    ASSERT_EQ(ids.size(), 100u);
    for (size_t i = 1; i < ids.size(); ++i) EXPECT_LT((ids[i - 1] * 37) % 100, (ids[i] * 37) % 100);
}

// Stepping the clock to earliest_deadline() each time lands exactly on every deadline (it is never late).
TEST(TimerWheel, EarliestDeadlineDrivesExactFiring) {
    Wheel w(kOrigin, 1);
    EXPECT_EQ(w.earliest_deadline(), kNever);
    constexpr size_t kN = 2000;
    std::vector<TimerNode> t(kN);
    std::vector<uint64_t> deadline(kN);
    std::mt19937_64 rng(7);
    for (size_t i = 0; i < kN; ++i) {
        deadline[i] = kOrigin + 1 + rng() % bit(static_cast<unsigned>(1 + rng() % 38));
        w.schedule(t[i], deadline[i]);
    }
    size_t fired = 0, steps = 0;
    uint64_t now = kOrigin;
    while (w.armed_count() > 0 && steps < 100 * kN) {
        const uint64_t next = w.earliest_deadline();
        ASSERT_NE(next, kNever);
        ASSERT_GT(next, now);
        now = next;
        fired += w.advance(now, [&](TimerNode& x) { EXPECT_EQ(deadline[static_cast<size_t>(&x - t.data())], now); });
        ++steps;
    }
    EXPECT_EQ(fired, kN);
    EXPECT_EQ(w.earliest_deadline(), kNever);
    EXPECT_LE(steps, kN * (Wheel::kLevels + 1) + 64 * 4);  // one visit per occupied slot, not per tick
}

// Jumps of hours (or years) at a time cost per occupied slot, not per tick, and still fire in order.
TEST(TimerWheel, LargeTimeJumps) {
    const auto t0 = std::chrono::steady_clock::now();
    Wheel w(kOrigin, 1);
    auto none = [](TimerNode&) {};
    // Empty wheel: a million jumps of 2^30 ticks.
    for (uint64_t i = 1; i <= 1000000; ++i) ASSERT_EQ(w.advance(kOrigin + i * bit(30), none), 0u);
    const uint64_t base = kOrigin + 1000000 * bit(30);

    constexpr size_t kN = 1000;
    std::vector<TimerNode> t(kN);
    std::vector<uint64_t> deadline(kN);
    std::mt19937_64 rng(11);
    for (size_t i = 0; i < kN; ++i) {
        deadline[i] = base + rng() % bit(44);  // up to 256 turns of the top level
        w.schedule(t[i], deadline[i]);
    }
    TimerNode never;
    w.schedule(never, kNever);
    uint64_t now = base + bit(43), last = 0;
    size_t fired = 0;
    auto check = [&](TimerNode& x) {
        const uint64_t d = deadline[static_cast<size_t>(&x - t.data())];
        EXPECT_LE(d, now);
        EXPECT_GE(d, last);
        last = d;
        ++fired;
    };
    const auto first_half = std::count_if(deadline.begin(), deadline.end(), [&](uint64_t d) { return d <= now; });
    EXPECT_EQ(w.advance(now, check), static_cast<size_t>(first_half));
    now = base + bit(44);
    w.advance(now, check);
    EXPECT_EQ(fired, kN);
    EXPECT_TRUE(never.armed());
    EXPECT_EQ(w.armed_count(), 1u);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(secs, 5.0);
}

// 100k timers with deadlines from one tick to beyond the wheel's range, re-armed and cancelled at random while
// the clock moves in random jumps: each fires exactly once, never early, at the first advance past its deadline,
// in non-decreasing deadline order, exactly as a std::multimap model says.
TEST(TimerWheel, RandomAgainstMultimapModel) {
    constexpr size_t kN = 100000;
    constexpr uint64_t kCpt = 3;
    std::mt19937_64 rng(20240601);
    Wheel w(kOrigin, kCpt);
    std::vector<TimerNode> nodes(kN);
    std::vector<uint64_t> deadline(kN);
    std::multimap<uint64_t, size_t> model;  // tick at which it must fire -> id
    std::vector<std::multimap<uint64_t, size_t>::iterator> where(kN);
    std::vector<bool> in_model(kN, false);
    uint64_t now = kOrigin, now_tick = 0;
    size_t total_fired = 0, total_scheduled = 0;

    auto tick_of_deadline = [](uint64_t d) { return d <= kOrigin ? 0 : (d - kOrigin + kCpt - 1) / kCpt; };
    auto random_deadline = [&]() -> uint64_t {
        if (rng() % 50 == 0) return now - rng() % (now - kOrigin + 1000);  // already reached
        const unsigned range_bits[] = {6, 12, 20, 30, 40};
        return now + rng() % (bit(range_bits[rng() % 5]) * kCpt) + 1;
    };
    auto schedule = [&](size_t id) {
        const uint64_t d = random_deadline();
        deadline[id] = d;
        const uint64_t e = tick_of_deadline(d);
        if (in_model[id]) model.erase(where[id]);
        where[id] = model.emplace(std::max(e, now_tick), id);  // already reached: fires at the next advance
        in_model[id] = true;
        w.schedule(nodes[id], d);
        EXPECT_EQ(nodes[id].expires, e);
        ++total_scheduled;
    };
    auto cancel = [&](size_t id) {
        w.cancel(nodes[id]);
        if (in_model[id]) model.erase(where[id]);
        in_model[id] = false;
    };

    uint64_t last_key = 0;
    size_t bad = 0;
    auto on_expire = [&](TimerNode& x) {
        const size_t id = static_cast<size_t>(&x - nodes.data());
        if (x.armed() || !in_model[id] || deadline[id] > now || where[id]->first < last_key ||
            where[id]->first > now_tick) {
            ++bad;
            return;
        }
        last_key = where[id]->first;
        model.erase(where[id]);
        in_model[id] = false;
        ++total_fired;
    };

    for (size_t id = 0; id < kN; ++id) schedule(id);
    for (int round = 0; round < 4000; ++round) {
        for (int op = static_cast<int>(rng() % 100); op > 0; --op) {
            const size_t id = rng() % kN;
            if (rng() % 4 == 0)
                cancel(id);
            else
                schedule(id);
        }
        ASSERT_EQ(w.armed_count(), model.size());
        if (!model.empty()) {
            ASSERT_LE(w.earliest_deadline(), kOrigin + model.begin()->first * kCpt);
            ASSERT_GE(w.earliest_deadline(), kOrigin + now_tick * kCpt);
        }
        const unsigned jump_bits[] = {2, 6, 12, 20, 28, 36};
        now += rng() % (bit(jump_bits[rng() % 6]) * kCpt);
        now_tick = (now - kOrigin) / kCpt;
        last_key = 0;
        const size_t before = model.size();
        const size_t fired = w.advance(now, on_expire);
        ASSERT_EQ(bad, 0u) << "round " << round;
        ASSERT_EQ(fired, before - model.size());
        ASSERT_TRUE(model.empty() || model.begin()->first > now_tick) << "round " << round;
    }
    now += bit(42) * kCpt;
    now_tick = (now - kOrigin) / kCpt;
    last_key = 0;
    w.advance(now, on_expire);
    EXPECT_EQ(bad, 0u);
    EXPECT_TRUE(model.empty());
    EXPECT_EQ(w.armed_count(), 0u);
    EXPECT_GT(total_fired, kN / 2);
    EXPECT_GT(total_scheduled, kN + 100000);
}
