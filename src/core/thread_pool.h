// One process-wide pool of worker threads; ParallelFor splits a range into contiguous chunks.
#pragma once

#include <cstdint>
#include <functional>

namespace lm {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int n_threads() const { return n_threads_; }

  // Calls fn(begin, end, thread_index) on disjoint chunks covering [0, n); the caller runs chunk 0.
  // Blocks until all chunks are done. Not re-entrant: nested calls run inline.
  void ParallelFor(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn);

  // Calls fn(i, thread_index) once for every i in [0, n), threads claiming the next index as they finish
  // the last: for tasks of uneven cost, where contiguous chunks would leave one thread with the dear ones.
  // Which thread runs which index varies from call to call; results must not depend on it.
  void ParallelForDynamic(int64_t n, const std::function<void(int64_t, int)>& fn);

 private:
  struct Impl;
  Impl* impl_;
  int n_threads_;
};

// The shared pool; SetGlobalThreads must be called before first use to change its size.
ThreadPool& GlobalPool();
void SetGlobalThreads(int n_threads);
int DefaultThreadCount();

}  // namespace lm
