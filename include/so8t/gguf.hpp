// so8t/gguf.hpp: the GGUF v3 reader and writer (namespace so8t::gguf).
#pragma once

#include "so8t/gguf/gguf.hpp"
