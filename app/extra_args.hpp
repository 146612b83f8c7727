// Reading a program's own options (synack::Options::extra, what synack's parser left): the value after an option,
// or a whole number in a range, with the option's name in every error.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace synack::app {

/// The value after args[i]; advances i past it.
inline std::string next_value(const std::vector<std::string>& args, size_t& i) {
    if (i + 1 >= args.size()) throw std::invalid_argument(args[i] + ": missing value");
    return args[++i];
}

/// The whole number after args[i], in [lo, hi]; advances i past it.
inline uint32_t next_number(const std::vector<std::string>& args, size_t& i, uint32_t lo, uint32_t hi) {
    const std::string opt = args[i], v = next_value(args, i);
    char* end = nullptr;
    const unsigned long n = std::strtoul(v.c_str(), &end, 10);
    if (v.empty() || v[0] == '-' || *end || n < lo || n > hi)
        throw std::invalid_argument(opt + ": expected " + std::to_string(lo) + ".." + std::to_string(hi));
    return static_cast<uint32_t>(n);
}

}  // namespace synack::app
