// ThreadPool: workers sleep on a condition variable between jobs; the caller takes part in each job.
#include "core/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/check.h"

namespace lm {

struct ThreadPool::Impl {
  std::vector<std::thread> workers;
  std::mutex mu;
  std::condition_variable wake;
  std::condition_variable done;
  const std::function<void(int64_t, int64_t, int)>* fn = nullptr;
  int64_t n = 0;
  int n_chunks = 0;
  uint64_t generation = 0;
  int pending = 0;
  bool stop = false;
  std::atomic<bool> busy{false};
};

namespace {
void ChunkRange(int64_t n, int n_chunks, int i, int64_t* begin, int64_t* end) {
  const int64_t base = n / n_chunks, rem = n % n_chunks;
  *begin = i * base + std::min<int64_t>(i, rem);
  *end = *begin + base + (i < rem ? 1 : 0);
}
}  // namespace

ThreadPool::ThreadPool(int n_threads) : impl_(new Impl), n_threads_(std::max(1, n_threads)) {
  for (int t = 1; t < n_threads_; ++t) {
    impl_->workers.emplace_back([this, t] {
      uint64_t seen = 0;
      for (;;) {
        std::unique_lock<std::mutex> lock(impl_->mu);
        impl_->wake.wait(lock, [&] { return impl_->stop || impl_->generation != seen; });
        if (impl_->stop) return;
        seen = impl_->generation;
        const auto* fn = impl_->fn;
        const int64_t n = impl_->n;
        const int n_chunks = impl_->n_chunks;
        lock.unlock();
        if (t < n_chunks) {
          int64_t b, e;
          ChunkRange(n, n_chunks, t, &b, &e);
          if (b < e) (*fn)(b, e, t);
        }
        lock.lock();
        if (--impl_->pending == 0) impl_->done.notify_one();
      }
    });
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->wake.notify_all();
  for (auto& w : impl_->workers) w.join();
  delete impl_;
}

void ThreadPool::ParallelFor(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn) {
  if (n <= 0) return;
  bool expected = false;
  if (n_threads_ == 1 || n == 1 || !impl_->busy.compare_exchange_strong(expected, true)) {
    fn(0, n, 0);  // single thread, trivial range, or nested call
    return;
  }
  const int n_chunks = static_cast<int>(std::min<int64_t>(n_threads_, n));
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->fn = &fn;
    impl_->n = n;
    impl_->n_chunks = n_chunks;
    impl_->pending = static_cast<int>(impl_->workers.size());
    ++impl_->generation;
  }
  impl_->wake.notify_all();
  int64_t b, e;
  ChunkRange(n, n_chunks, 0, &b, &e);
  fn(b, e, 0);
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->done.wait(lock, [&] { return impl_->pending == 0; });
  impl_->busy.store(false);
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
