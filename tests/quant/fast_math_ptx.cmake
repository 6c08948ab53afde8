# Why the fast-math guard (kernels/so8t/base/float_mode.cuh) exists, checked without a GPU: the same quantizer
# source compiled to PTX without and with --use_fast_math. Without it no instruction may flush subnormals
# (.ftz); with it the quantizer's IEEE multiplies and divides become .ftz forms, which change bytes of blocks
# with subnormal values. Also checks that nvcc still defines no macro for --use_fast_math (if a later nvcc
# does, so8t/base/config.hpp's compile-time refusal takes over and this line should be revisited).
# Inputs: -DNVCC= -DSRC= -DINCLUDES=a;b -DOUT=dir
foreach(mode plain fast)
  set(flags -std=c++17 -arch=sm_90 --expt-relaxed-constexpr -ptx)
  if(mode STREQUAL "fast")
    list(APPEND flags --use_fast_math)
  endif()
  set(inc "")
  foreach(d IN LISTS INCLUDES)
    list(APPEND inc -I${d})
  endforeach()
  execute_process(COMMAND ${NVCC} ${flags} ${inc} ${SRC} -o ${OUT}/probe_${mode}.ptx
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "nvcc (${mode}) failed: ${err}")
  endif()
  file(READ ${OUT}/probe_${mode}.ptx ptx)
  string(REGEX MATCHALL "[a-z]+\\.rn\\.ftz\\.f32" ftz "${ptx}")
  string(REGEX MATCHALL "mul\\.rn(\\.ftz)?\\.f32" muls "${ptx}")
  list(LENGTH ftz n_ftz)
  list(LENGTH muls n_mul)
  message(STATUS "${mode}: ${n_mul} mul.rn.f32, ${n_ftz} IEEE ops with .ftz")
  if(n_mul EQUAL 0)
    message(FATAL_ERROR "${mode}: no mul.rn.f32 at all in the quantizer's PTX: the probe no longer compiles the kernel")
  endif()
  if(mode STREQUAL "plain" AND NOT n_ftz EQUAL 0)
    message(FATAL_ERROR "plain build: ${n_ftz} .ftz IEEE operations; the default build must keep subnormals")
  endif()
  if(mode STREQUAL "fast" AND n_ftz EQUAL 0)
    message(FATAL_ERROR "--use_fast_math: no .ftz operation; the premise of the run-time guard changed")
  endif()
endforeach()
# Which macros --use_fast_math defines, in either pass.
file(WRITE ${OUT}/macro_probe.cu "#if defined(__USE_FAST_MATH__) || defined(__FAST_MATH__)\n#error fast_math_macro_defined\n#endif\n__global__ void k() {}\n")
execute_process(COMMAND ${NVCC} -arch=sm_90 --use_fast_math -c ${OUT}/macro_probe.cu -o ${OUT}/macro_probe.o
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(STATUS "--use_fast_math defines neither __USE_FAST_MATH__ nor __FAST_MATH__: the run-time guard is the only one")
else()
  message(STATUS "--use_fast_math defines a fast-math macro: so8t/base/config.hpp refuses it at compile time too")
endif()
