#pragma once
// GET /v1/market/{pool}/book answers, rendered once per committed change of the
// pool's book (ledger::PoolRecord::version) and shared by every read until the
// next one.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "spotgrid/ledger/read_model.hpp"

namespace spotgrid::gateway {

class BookCache {
 public:
  explicit BookCache(std::size_t pools) : entries_(pools) {}

  using Render = std::string (*)(const ledger::PoolRecord& record, std::string_view pool_name);

  // The body for `record` (of pool `pool`), rendered by `render` if it is newer
  // than the one kept.
  std::shared_ptr<const std::string> body(std::size_t pool, const ledger::PoolRecord& record,
                                          std::string_view pool_name, Render render);

 private:
  struct Entry {
    std::mutex mutex;
    std::uint64_t version = 0;
    std::shared_ptr<const std::string> body;
  };
  std::vector<Entry> entries_;
};

}  // namespace spotgrid::gateway
