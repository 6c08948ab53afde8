# No weight or activation upload in the library or the application layer is a plain cudaMemcpy(...,
# cudaMemcpyHostToDevice): from pageable memory that runs on the legacy default stream and may return before its
# DMA lands, and a kernel on a non-blocking stream does not wait for it (kernels read weights still being
# written). Uploads go through so8t::cuda::copy_to_device (kernels/so8t/base/device_buffer.cuh) or a
# cudaMemcpyAsync on the consumer's own stream. Input: -DROOT=<source dir>.
file(GLOB_RECURSE sources ${ROOT}/kernels/*.cuh ${ROOT}/kernels/*.cu ${ROOT}/examples/*.cuh ${ROOT}/examples/*.cu
     ${ROOT}/examples/*.hpp ${ROOT}/examples/*.cpp)
set(bad "")
foreach(f IN LISTS sources)
  if(f MATCHES "kernels/so8t/base/device_buffer.cuh$")
    continue()  # copy_to_device itself
  endif()
  file(READ ${f} text)
  string(REGEX MATCHALL "cudaMemcpy\\([^;]*cudaMemcpyHostToDevice" hits "${text}")
  if(hits)
    list(LENGTH hits n)
    list(APPEND bad "${f}: ${n}")
  endif()
endforeach()
list(LENGTH sources n_files)
if(bad)
  message(FATAL_ERROR "synchronous host-to-device cudaMemcpy (use so8t::cuda::copy_to_device): ${bad}")
endif()
message(STATUS "${n_files} files: no legacy-stream uploads")
