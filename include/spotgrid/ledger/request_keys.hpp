#pragma once
// Idempotency keys in PostgreSQL (table idempotency_keys): written in the same
// transaction as what the request did, so the key exists exactly when the
// effect does.
#include <cstdint>
#include <string>

#include "spotgrid/ledger/durable_market.hpp"

namespace pqxx {
class transaction_base;
}

namespace spotgrid::ledger {

// Records `key` with the answer to replay, replacing a row older than the
// key's lifetime. A live row (another process used the key meanwhile) makes
// the INSERT fail with a unique violation: the effect is refused, never doubled.
// `command_seq` is 0 for requests that ran no engine command (an account).
void insert_request_key(pqxx::transaction_base& txn, const RequestKey& key,
                        const StoredAnswer& answer, std::uint64_t command_seq);

}  // namespace spotgrid::ledger
