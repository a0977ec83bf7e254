#pragma once
// What `serve` needs from the operating system beyond sockets: telling
// systemd how it is doing (sd_notify, without libsystemd) and giving up root
// once the privileged ports are bound.
#include <optional>
#include <string>
#include <string_view>

namespace provbox::server {

// Sends one sd_notify message ("READY=1", "STOPPING=1", "WATCHDOG=1") to
// $NOTIFY_SOCKET; does nothing outside systemd.
void notify_systemd(std::string_view state);
// Half the watchdog interval systemd asked for (WATCHDOG_USEC), in
// milliseconds, if it asked for one.
std::optional<long> watchdog_interval_ms();
// True when systemd started this process (it sets INVOCATION_ID).
bool started_by_systemd();

// When running as root, becomes `user` (its uid, gid and supplementary
// groups) after handing it `data_dir`. Returns a message saying what
// happened, or throws std::runtime_error when the user is unknown or the
// switch fails (running on as root would be worse than not running).
std::string drop_privileges(const std::string& user, const std::string& data_dir);

}  // namespace provbox::server
