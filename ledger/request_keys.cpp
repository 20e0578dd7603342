#include "spotgrid/ledger/request_keys.hpp"

#include <pqxx/pqxx>

namespace spotgrid::ledger {

void insert_request_key(pqxx::transaction_base& txn, const RequestKey& key,
                        const StoredAnswer& answer, std::uint64_t command_seq) {
  txn.exec_params(
      "DELETE FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2"
      " AND created_at <= now() - make_interval(secs => $3)",
      key.scope, key.key, static_cast<long long>(key.lifetime_seconds));
  txn.exec_params(
      "INSERT INTO idempotency_keys"
      " (scope, idempotency_key, fingerprint, status, response, command_seq)"
      " VALUES ($1, $2, $3, $4, $5, $6)",
      key.scope, key.key, key.fingerprint, static_cast<int>(answer.status), answer.body,
      static_cast<long long>(command_seq));
}

}  // namespace spotgrid::ledger
