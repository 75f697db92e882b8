// The SIMD targets compiled into the Highway kernels, chosen for this machine class to bound compile time:
// AVX2 (any x86-64 of the last decade), AVX3_DL (AVX-512 with VNNI: Ice Lake, Zen 4) and the static
// baseline (scalar) as the portable fallback. SSSE3/SSE4 and plain AVX3 (Skylake-X, which then runs the
// AVX2 code) are left out. Include before any Highway header, in every dispatched TU.
// (Highway 1.0.3 ignores a user-defined HWY_TARGETS; HWY_DISABLED_TARGETS is its knob.)
// Every dispatched TU in the project must include this same set: Highway's chosen target is one process-wide
// value, set by whichever TU dispatches first, and a TU compiled without that target has a null entry in its
// dispatch table. Two sets once crashed the sanitizer build depending on which op ran first.
#pragma once

#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SSSE3 | HWY_SSE4 | HWY_AVX3)
#endif
#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL 1
#endif
