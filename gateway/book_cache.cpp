#include "book_cache.hpp"

namespace spotgrid::gateway {

std::shared_ptr<const std::string> BookCache::body(std::size_t pool,
                                                   const ledger::PoolRecord& record,
                                                   std::string_view pool_name, Render render) {
  Entry& entry = entries_[pool];
  {
    const std::lock_guard lock(entry.mutex);
    if (entry.body && entry.version >= record.version) return entry.body;
  }
  auto rendered = std::make_shared<const std::string>(render(record, pool_name));
  const std::lock_guard lock(entry.mutex);
  if (!entry.body || entry.version < record.version) {
    entry.version = record.version;
    entry.body = rendered;
  }
  return entry.body;
}

}  // namespace spotgrid::gateway
