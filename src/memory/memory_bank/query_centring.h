// Retrieval-query centring for the memory bank: each query minus the running mean of its segment's queries so far.
//
// Why: on the SmolLM2 backbone a few memory chunks score high for almost every query (their keys align
// with the mean query direction), so raw inner-product retrieval returns the same "hub" chunks whatever
// the query asks, and measured retrieval of the right demonstration sits at chance. Subtracting a mean
// query μ from q changes each chunk's score by −μ·key, which removes exactly that per-chunk popularity
// (centring the keys instead would shift every score of a query by the same amount and change nothing).
// The mean is causal — token t uses the mean of rows 0..t of its own call — so a token's retrieval never
// depends on later tokens, and the same rule serves training, evaluation and generation without state.
#pragma once

#include <cstdint>

namespace lm::membank {

// q, out: [T, H, D] f32 (out must not alias q). out[t, h] = q[t, h] − mean_{s<=t} q[s, h], per head.
void CentreQueriesCausal(const float* q, int64_t T, int64_t H, int64_t D, float* out);

}  // namespace lm::membank
