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

// Records `key` with the answer to replay. A row still there is older than the
// gateway's key lifetime (the gateway looked the key up and holds it while in
// flight), so it is replaced. `command_seq` is 0 for requests that ran no
// engine command (creating an account).
void insert_request_key(pqxx::transaction_base& txn, const RequestKey& key,
                        const StoredAnswer& answer, std::uint64_t command_seq);

}  // namespace spotgrid::ledger
