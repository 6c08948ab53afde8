// so8t/base/config.hpp: the few macros every so8t header uses.
//
// SO8T_HOST_DEVICE marks every function that CUDA kernels may call, CuTe-style: the same source is the
// CPU path, the GPU path and what the CPU tests check (see README.md "Architecture").
#pragma once

#if defined(__CUDACC__) || defined(__HIPCC__)
#  define SO8T_HOST_DEVICE inline __host__ __device__
#  define SO8T_DEVICE inline __device__
#  define SO8T_GLOBAL __global__
// For the few large routines (8x8 product, LU, Padé): a real call on the device keeps kernels that chain
// dozens of them (the exp VJP) small enough to compile in seconds instead of minutes; the host inlines.
#  define SO8T_HOST_DEVICE_CALL __noinline__ __host__ __device__
#else
#  define SO8T_HOST_DEVICE inline
#  define SO8T_DEVICE inline
#  define SO8T_GLOBAL
#  define SO8T_HOST_DEVICE_CALL inline
#endif

// True while compiling device code (the second nvcc pass), false on the host.
#if defined(__CUDA_ARCH__)
#  define SO8T_DEVICE_CODE 1
#else
#  define SO8T_DEVICE_CODE 0
#endif

#if defined(__CUDA_ARCH__)
#  define SO8T_UNROLL _Pragma("unroll")
#elif defined(__CUDACC__)
#  define SO8T_UNROLL  // nvcc's host pass rejects GCC's pragma and g++ warns about nvcc's
#elif defined(__clang__)
#  define SO8T_UNROLL _Pragma("clang loop unroll(full)")
#elif defined(__GNUC__)
#  define SO8T_UNROLL _Pragma("GCC unroll 8")
#else
#  define SO8T_UNROLL
#endif

// so8t computes the same bytes whatever the including project's flags (-O level, -march, -ffp-contract),
// because every rounding step is spelled out (so8t/base/fp.hpp). Two settings would still change results and
// cannot be undone from a header, so they are refused here instead of silently giving other numbers:
// -ffast-math (reassociation, flush-to-zero, no NaN/Inf) and x87 excess precision (-m32 -mfpmath=387).
// __USE_FAST_MATH__: what CUDA compilers that signal --use_fast_math define; nvcc 13 defines nothing for it,
// so the CUDA wrappers also check at run time (kernels/so8t/base/float_mode.cuh).
#if (defined(__FAST_MATH__) || defined(__USE_FAST_MATH__)) && !defined(SO8T_ALLOW_FAST_MATH)
#  error "so8t: -ffast-math changes rounding and breaks bit-exact results; build so8t code without it (define SO8T_ALLOW_FAST_MATH to override at your own risk)"
#endif
#if defined(__FLT_EVAL_METHOD__) && (__FLT_EVAL_METHOD__ != 0) && (__FLT_EVAL_METHOD__ != -1) && !SO8T_DEVICE_CODE
#  error "so8t: float expressions are evaluated in excess precision (FLT_EVAL_METHOD != 0, e.g. x87); use SSE2 (-mfpmath=sse)"
#endif

#define SO8T_VERSION_MAJOR 0
#define SO8T_VERSION_MINOR 1
#define SO8T_VERSION_PATCH 0
