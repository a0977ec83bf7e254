#pragma once
// The small inventory `provbox init --demo` creates: the seed document's two
// products with one device each, so a first start has something to serve.
#include "store/inventory.hpp"

namespace provbox::cli {

// Adds the demo models, devices, params and variables unless the IP542N
// model already exists. Returns whether it added anything. One transaction.
bool add_demo_inventory(store::inventory& inventory);

}  // namespace provbox::cli
