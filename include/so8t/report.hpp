// so8t/report.hpp: the pipeline's report format (namespace so8t::report): an ordered JSON value and the QC
// results of so8t/calib as JSON objects.
#pragma once

#include "so8t/report/json.hpp"
#include "so8t/report/calib_json.hpp"
