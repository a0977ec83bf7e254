#pragma once
// `provbox serve`: one io_context on one thread, every listener a coroutine
// on it.
#include <functional>

#include "server/config.hpp"

namespace provbox::server {

// Runs until SIGINT or SIGTERM; returns the process exit status. Start-up
// failures (a port in use, an unreadable CA) are one line on stderr and 1.
// On SIGHUP `reload` is called for a fresh configuration (it throws when the
// file is broken, and the running configuration stays).
int serve(const config& c, const std::function<config()>& reload);

}  // namespace provbox::server
