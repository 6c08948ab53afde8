// so8t/gguf/gguf.hpp: the whole GGUF v3 reader and writer (namespace so8t::gguf).
#pragma once

#include "so8t/gguf/error.hpp"
#include "so8t/gguf/format.hpp"
#include "so8t/gguf/value.hpp"
#include "so8t/gguf/metadata.hpp"
#include "so8t/gguf/tensor_info.hpp"
#include "so8t/gguf/block_scales.hpp"
#include "so8t/gguf/reader.hpp"
#include "so8t/gguf/writer.hpp"
