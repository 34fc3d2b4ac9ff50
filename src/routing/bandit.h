// Bandit: a multi-armed bandit over a router's routes (its arms) that learns from feedback which
// arm earns the most reward. Each decision picks an arm by the policy -- epsilon_greedy, thompson
// (Beta posteriors) or ucb1 -- after every arm has had `min_pulls` rows, and gets an id; the
// client later sends rewards in [0, 1] for that id, one for all its rows or one a row.
//
// Feedback is idempotent: a decision is credited once (again: duplicate); ids older than the
// feedback TTL, or pushed out by `max_decisions` newer ones, are expired; ids this instance never
// issued (another replica's, or from before a restart) are unknown. An id is
// "<instance>-<sequence>" in hex.
//
// Each arm's pulls (rows decided), rewarded rows and reward sum are the state that persists: in
// `state_file` (JSON, written atomically: a temporary file renamed over it) every `save_every`
// when it changed, and when the bandit is destroyed; read back at construction when its arms are
// the same (same names and targets). A state file that cannot be read is ignored with a log line.
//
// Thread safety: every method may be called from any thread; one mutex (the ledger's), held briefly.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "routing/router_config.h"
#include "routing/servable.h"
#include "routing/timer.h"

namespace ferry::routing {

class Bandit {
 public:
  struct Arm {
    std::string name;
    std::string target;
    bool operator==(const Arm&) const = default;
  };
  struct Options {
    std::string router;  // for log lines
    BanditConfig config;
    std::vector<Arm> arms;
  };
  struct Decision {
    std::size_t arm = 0;
    bool explore = false;  // chosen to learn rather than because it looks best
    std::string id;
  };
  struct ArmState {
    std::uint64_t pulls = 0;     // rows decided
    std::uint64_t rewarded = 0;  // rows with a reward
    double reward_sum = 0;
  };

  // With `previous` (the bandit of the router version this one replaces, with the same arms),
  // what it learnt and the decisions awaiting feedback carry over: the two share them.
  explicit Bandit(Options options, const Bandit* previous = nullptr);
  ~Bandit();  // saves the state file when the state changed
  Bandit(const Bandit&) = delete;
  Bandit& operator=(const Bandit&) = delete;

  // Chooses an arm for a call of `rows` rows and records it.
  Decision Decide(std::size_t rows);
  // Credits decision `id` to `arm` instead (the router fell back to another route).
  void Redirect(const std::string& id, std::size_t arm);
  FeedbackResult Apply(const Feedback& feedback);

  const std::vector<Arm>& arms() const { return options_.arms; }
  const BanditConfig& config() const { return options_.config; }
  std::vector<ArmState> State() const;
  // Each arm's posterior Beta(alpha, beta) and its probability of being the best arm.
  struct Posterior {
    double alpha = 0, beta = 0, probability_best = 0;
  };
  std::vector<Posterior> Posteriors() const;

  // Writes the state file (when one is configured) if the state changed since it was last written.
  core::Result<void> SaveIfChanged();
  // Saves every `save_every` on `timer` while the bandit lives.
  static void SaveEvery(const std::shared_ptr<Bandit>& bandit, Timer& timer);

  // The state file's arms, for `arms`: nullopt when it is missing, unreadable or for other arms
  // (with the reason in `why`).
  static std::optional<std::vector<ArmState>> ReadState(const std::string& path, const std::vector<Arm>& arms,
                                                        std::string& why);

 private:
  struct Entry {
    std::size_t arm = 0;
    std::size_t rows = 0;
    std::chrono::steady_clock::time_point issued;
    bool credited = false;
  };
  // Under ledger_->mutex.
  std::size_t Choose(bool& explore);
  void Prune(std::chrono::steady_clock::time_point now);
  double Mean(std::size_t arm) const;

  // What the bandit learnt and the decisions awaiting feedback, shared by the versions of a
  // router whose arms stayed the same across reloads.
  struct Ledger {
    std::string instance;  // hex, part of every decision id
    std::mutex mutex;
    // Protected by mutex.
    std::mt19937_64 random;
    std::vector<ArmState> state;
    std::deque<Entry> decisions;  // decisions[i] is sequence first + i
    std::uint64_t first = 0;
    bool changed = false;
    // Held while the state file is written: the bandits sharing a ledger (a reloaded router's
    // old and new versions) save from different threads, to the same temporary file.
    std::mutex save_mutex;
  };

  // Constant after construction.
  const Options options_;
  const std::shared_ptr<Ledger> ledger_;  // thread-safe itself
};

}  // namespace ferry::routing
