// --share-kernel's options and the ephemeral range it moves: the engine's active opens stay inside
// TcpConfig::ephemeral_low..high (the XDP program redirects exactly that range to synack), and the options
// parse and refuse as documented.
#include <set>
#include <stdexcept>

#include <gtest/gtest.h>

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

}  // namespace
