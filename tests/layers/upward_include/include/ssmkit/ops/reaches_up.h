// A planted layer violation for the layer_rules_catch_an_upward_include test: ops may not include
// train. This tree is only ever checked, never built.
#pragma once

#include "ssmkit/train/trainer.h"
