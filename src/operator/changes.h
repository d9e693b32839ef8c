#pragma once
// Push sync: follows the change stream of each Arca server an `arca` store reads from
// (GET /arca/v1/changes, a SigV4-signed long-poll; see docs/configuration.md), with that store's
// identity, so it sees only the secrets the store may describe. Each change (a secret's name and ARN,
// never a value) is handed to `on_change`; a follower remembers the last sequence it saw and resumes
// from it after a disconnect, so nothing is missed while the server was unreachable. When the server
// says the sequence is too old (Reset), and when a follower starts, `on_change` gets an empty key:
// "everything read from this server may have changed".
//
// Thread-safety: all methods may be called from any thread; `on_change` runs on the followers'
// threads.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "client/aws_client.h"

namespace arca::op {

class ChangeFollowers {
 public:
  using OnChange = std::function<void(const std::string& server, const std::string& region, const std::string& key)>;

  explicit ChangeFollowers(OnChange on_change, std::chrono::seconds wait = std::chrono::seconds(10));
  ~ChangeFollowers();
  ChangeFollowers(const ChangeFollowers&) = delete;
  ChangeFollowers& operator=(const ChangeFollowers&) = delete;

  // Makes sure a follower runs for `store_key` (one per store: its identity decides what it sees)
  // against `server` in `region`; `client` replaces the follower's credentials when they are older
  // than a few minutes (temporary credentials expire).
  void Ensure(const std::string& store_key, const std::string& server, const std::string& region,
              std::shared_ptr<const client::AwsClient> client);
  void Stop();

 private:
  struct Follower {
    std::string server;
    std::string region;
    std::mutex mu;
    std::shared_ptr<const client::AwsClient> client;  // GUARDED_BY(mu)
    std::chrono::steady_clock::time_point client_at;   // GUARDED_BY(mu)
    std::thread thread;
  };
  void Follow(Follower& f);

  const OnChange on_change_;
  const std::chrono::seconds wait_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Follower>> followers_;  // GUARDED_BY(mu_)
};

}  // namespace arca::op
