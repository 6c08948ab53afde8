# Warnings for so8t's own tests, examples and benchmarks (never imposed on consumers).
add_library(so8t_warnings INTERFACE)
target_compile_options(so8t_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wno-maybe-uninitialized>
  $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall --Werror=all-warnings>)

# Sanitizers for the asan preset: -DSO8T_SANITIZE=ON.
option(SO8T_SANITIZE "Build tests with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
if(SO8T_SANITIZE)
  target_compile_options(so8t_warnings INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer>)
  target_link_options(so8t_warnings INTERFACE -fsanitize=address,undefined -fno-sanitize-recover=all)
endif()
