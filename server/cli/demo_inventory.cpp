#include "server/cli/demo_inventory.hpp"

#include "server/cli/context.hpp"

namespace provbox::cli {
namespace {

// Shaped like the seed's section 5 example. SIP_SERVER, SIP_USER and
// SIP_PASSWORD are inventory variables, so one template serves every device.
constexpr std::string_view ip542n_template =
    "# Flying Voice IP542N: provisioning template (KEY=VALUE, one per line)\n"
    "DBID_IPMODE=0\n"
    "DBID_SIP_ENABLE=1\t0\t0\t0\n"
    "DBID_WEB_SIP_SERVER=$(SIP_SERVER)\n"
    "DBID_WEB_SIP_SERVER_PORT=5060\n"
    "DBID_WEB_SIP_OUTBOUND=$(SIP_SERVER)\n"
    "DBID_WEB_SIP_OUTBOUND_PORT=5060\n"
    "DBID_SIP_DIS_NAME=$(SIP_USER)_name\n"
    "DBID_SIP_PHONE_NUM=$(SIP_USER)\n"
    "DBID_SIP_ACCOUNT=$(SIP_USER)\n"
    "DBID_SIP_PASSWORD=$(SIP_PASSWORD)\n"
    "# Once provisioned, resync over the Profile Rule rather than option 66.\n"
    "DBID_PRV_OPTION66_ENABLED=0\n";

constexpr std::string_view g502n_template =
    "# Flying Voice G502N: provisioning template\n"
    "DBID_IPMODE=0\n"
    "DBID_SIP_ENABLE=1\t1\n"
    "DBID_WEB_SIP_SERVER=$(SIP_SERVER)\n"
    "DBID_WEB_SIP_SERVER_PORT=5060\n"
    "DBID_SIP_DIS_NAME=$(SIP_USER)_name\n"
    "DBID_SIP_PHONE_NUM=$(SIP_USER)\n"
    "DBID_SIP_ACCOUNT=$(SIP_USER)\n"
    "DBID_SIP_PASSWORD=$(SIP_PASSWORD)\n"
    "DBID_PRV_OPTION66_ENABLED=0\n";

}  // namespace

bool add_demo_inventory(store::inventory& inventory) {
  if (inventory.find_model("IP542N")) return false;
  // Each inventory call is a transaction of its own; under this outer one
  // they become savepoints, so the whole demo is one change.
  store::transaction tx(inventory.db());
  {
    inventory.add_model({"IP542N", "IP542N.conf", {"fv$(MAU).conf"}, std::string(ip542n_template), 0});
    inventory.add_model({"G502N", "G502N.conf", {"fv$(MAU).conf"}, std::string(g502n_template), 0});

    store::device_record phone;
    phone.mac = *profile::mac_address::parse("00:21:f2:01:1b:19");
    phone.model = "IP542N";
    phone.serial = "E3C08109000051";
    phone.sw_version = "v3.3.8";
    phone.hw_version = "v1.0.1";
    phone.label = "reception phone (demo)";
    // Loopback, so `tftp 127.0.0.1 -c get IP542N.conf` on this machine is
    // answered with this device's file.
    phone.static_ip = "127.0.0.1";
    inventory.add_device(phone);

    store::device_record ata;
    ata.mac = *profile::mac_address::parse("00:21:f2:22:ae:f1");
    ata.model = "G502N";
    ata.serial = "E3C08109000052";
    ata.sw_version = "v2.1.0";
    ata.hw_version = "v1.0";
    ata.label = "fax ATA (demo, encrypted profile)";
    ata.group = "office";
    ata.encryption_key = "123456";
    inventory.add_device(ata);

    inventory.set_variable(store::scope::global(), "SIP_SERVER", "192.168.10.200");
    inventory.set_param(store::scope::global(), "DBID_SUBNET_MASK", "255.255.255.0");
    inventory.set_param(store::scope::group("office"), "DBID_DFLT_GW_IP_ADDR", "192.168.10.1");
    inventory.set_variable(store::scope::device(phone.mac), "SIP_USER", "23103");
    inventory.set_variable(store::scope::device(phone.mac), "SIP_PASSWORD", "23103");
    inventory.set_variable(store::scope::device(ata.mac), "SIP_USER", "23104");
    inventory.set_variable(store::scope::device(ata.mac), "SIP_PASSWORD", "23104");
  }
  tx.commit();
  return true;
}

namespace {

int init(context& ctx, const std::vector<std::string>& raw) {
  arguments args("init", raw, {{"demo", false}}, 0, 0);
  auto& inv = ctx.create_inventory();
  ctx.out << "inventory " << ctx.db_path << " ready\n";
  if (args.flag("demo")) {
    if (add_demo_inventory(inv))
      ctx.out << "demo inventory added: models IP542N and G502N, devices 00:21:f2:01:1b:19 and 00:21:f2:22:ae:f1\n";
    else
      ctx.out << "demo inventory already present\n";
  }
  return 0;
}

}  // namespace

std::vector<command> init_commands() {
  return {{"init", "init [--demo]   (create the inventory; --demo adds two sample devices)", init}};
}

}  // namespace provbox::cli
