// ThreadPool: workers spin briefly on a generation counter (decode issues hundreds of small jobs per token,
// and a condition-variable wake-up costs more than the job), then fall back to sleeping so an idle process
// does not burn cores. The caller runs chunk 0 itself.
#include "core/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "core/check.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LM_CPU_RELAX() _mm_pause()
#else
#define LM_CPU_RELAX() ((void)0)
#endif

namespace lm {

struct ThreadPool::Impl {
  std::vector<std::thread> workers;
  std::mutex mu;
  std::condition_variable wake;
  const std::function<void(int64_t, int64_t, int)>* fn = nullptr;
  int64_t n = 0;
  int n_chunks = 0;
  std::atomic<uint64_t> generation{0};
  std::atomic<int> pending{0};
  std::atomic<int> sleepers{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> busy{false};
};

namespace {
// How long an idle worker spins before sleeping: long enough to cover the gap between two ops of a decode
// step, short enough that a finished command releases its cores at once in human terms.
constexpr auto kSpin = std::chrono::microseconds(2000);

// Pause-spin first (cheapest when every thread has its own core); after a while yield, so that on an
// oversubscribed machine the thread we wait for gets the core instead of waiting for a scheduler tick.
inline void Backoff(int spins) {
  if (spins < 2048) {
    LM_CPU_RELAX();
  } else {
    std::this_thread::yield();
  }
}

void ChunkRange(int64_t n, int n_chunks, int i, int64_t* begin, int64_t* end) {
  const int64_t base = n / n_chunks, rem = n % n_chunks;
  *begin = i * base + std::min<int64_t>(i, rem);
  *end = *begin + base + (i < rem ? 1 : 0);
}
}  // namespace

ThreadPool::ThreadPool(int n_threads) : impl_(new Impl), n_threads_(std::max(1, n_threads)) {
  for (int t = 1; t < n_threads_; ++t) {
    impl_->workers.emplace_back([this, t] {
      Impl& s = *impl_;
      uint64_t seen = 0;
      for (;;) {
        // Spin, then sleep, until a new generation (job) or stop.
        auto deadline = std::chrono::steady_clock::now() + kSpin;
        int spins = 0;
        while (s.generation.load(std::memory_order_acquire) == seen && !s.stop.load(std::memory_order_acquire)) {
          Backoff(++spins);
          if (spins % 256 == 0 && std::chrono::steady_clock::now() > deadline) {
            std::unique_lock<std::mutex> lock(s.mu);
            s.sleepers.fetch_add(1);
            s.wake.wait(lock, [&] { return s.generation.load() != seen || s.stop.load(); });
            s.sleepers.fetch_sub(1);
            break;
          }
        }
        if (s.stop.load(std::memory_order_acquire)) return;
        seen = s.generation.load(std::memory_order_acquire);
        if (t < s.n_chunks) {
          int64_t b, e;
          ChunkRange(s.n, s.n_chunks, t, &b, &e);
          if (b < e) (*s.fn)(b, e, t);
        }
        s.pending.fetch_sub(1, std::memory_order_acq_rel);
      }
    });
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop.store(true);
  }
  impl_->wake.notify_all();
  for (auto& w : impl_->workers) w.join();
  delete impl_;
}

void ThreadPool::ParallelFor(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn) {
  if (n <= 0) return;
  bool expected = false;
  if (n_threads_ == 1 || n == 1 || !impl_->busy.compare_exchange_strong(expected, true)) {
    fn(0, n, 0);  // single thread, trivial range, or a nested call
    return;
  }
  Impl& s = *impl_;
  s.fn = &fn;
  s.n = n;
  s.n_chunks = static_cast<int>(std::min<int64_t>(n_threads_, n));
  s.pending.store(static_cast<int>(s.workers.size()), std::memory_order_release);
  {
    // Publishing under the mutex pairs with the sleepers' predicate check, so no wake-up is lost.
    std::lock_guard<std::mutex> lock(s.mu);
    s.generation.fetch_add(1, std::memory_order_acq_rel);
  }
  if (s.sleepers.load() > 0) s.wake.notify_all();
  int64_t b, e;
  ChunkRange(n, s.n_chunks, 0, &b, &e);
  fn(b, e, 0);
  for (int spins = 1; s.pending.load(std::memory_order_acquire) != 0; ++spins) Backoff(spins);
  s.busy.store(false, std::memory_order_release);
}

void ThreadPool::ParallelForDynamic(int64_t n, const std::function<void(int64_t, int)>& fn) {
  std::atomic<int64_t> next{0};
  // One chunk per thread (at most n); each claims indices until none is left. A nested call runs the one
  // chunk inline, which then claims them all.
  ParallelFor(std::min<int64_t>(n, n_threads_), [&](int64_t, int64_t, int tid) {
    for (int64_t i = next.fetch_add(1, std::memory_order_relaxed); i < n;
         i = next.fetch_add(1, std::memory_order_relaxed))
      fn(i, tid);
  });
}

namespace {
int g_requested_threads = 0;
}

int DefaultThreadCount() {
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

void SetGlobalThreads(int n_threads) { g_requested_threads = n_threads; }

ThreadPool& GlobalPool() {
  static ThreadPool pool(g_requested_threads > 0 ? g_requested_threads : DefaultThreadCount());
  return pool;
}

}  // namespace lm
