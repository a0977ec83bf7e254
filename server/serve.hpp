#pragma once
// `provbox serve`: one io_context on one thread, every listener a coroutine
// on it.
#include "server/config.hpp"

namespace provbox::server {

// Runs until SIGINT or SIGTERM; returns the process exit status. Start-up
// failures (a port in use, an unreadable CA) are one line on stderr and 1.
int serve(const config& c);

}  // namespace provbox::server
