#!/usr/bin/env python3
"""Plays a DHCP relay agent: sends one relayed DISCOVER (giaddr set, option
82 added) from RELAY:67 to SERVER:67 and waits for the OFFER on RELAY:67.

usage: relay_client.py RELAY_ADDRESS SERVER_ADDRESS MAC
Prints 'offer YIADDR giaddr=G agent-info=echoed|missing' and exits 0 on an
OFFER for MAC, 1 on a timeout or anything else."""
import os
import socket
import struct
import sys

relay, server, mac_text = sys.argv[1], sys.argv[2], sys.argv[3]
mac = bytes.fromhex(mac_text.replace(":", ""))
xid = int.from_bytes(os.urandom(4), "big")
agent_info = bytes([1, 4]) + b"vc-1" + bytes([2, 2, 0xab, 0xcd])  # circuit id, remote id

packet = struct.pack("!BBBBIHH4s4s4s4s16s64s128s",
                     1, 1, 6, 1,                    # op, htype, hlen, hops (one relay)
                     xid, 0, 0,                     # xid, secs, flags
                     bytes(4), bytes(4), bytes(4),  # ciaddr, yiaddr, siaddr
                     socket.inet_aton(relay),       # giaddr
                     mac + bytes(10), bytes(64), bytes(128))
packet += bytes([99, 130, 83, 99])                  # magic cookie
packet += bytes([53, 1, 1])                         # DHCPDISCOVER
packet += bytes([55, 2, 66, 67])                    # parameter request list
packet += bytes([82, len(agent_info)]) + agent_info # RFC 3046
packet += bytes([255])

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((relay, 67))
s.settimeout(3)
s.sendto(packet, (server, 67))
try:
    while True:
        data, peer = s.recvfrom(4096)
        if len(data) < 240 or data[0] != 2 or struct.unpack("!I", data[4:8])[0] != xid:
            continue
        yiaddr = socket.inet_ntoa(data[16:20])
        giaddr = socket.inet_ntoa(data[24:28])
        options, at, found = data[240:], 0, {}
        while at < len(options) and options[at] != 255:
            if options[at] == 0:
                at += 1
                continue
            code, length = options[at], options[at + 1]
            found[code] = options[at + 2:at + 2 + length]
            at += 2 + length
        kind = found.get(53, b"\0")[0]
        echoed = "echoed" if found.get(82) == agent_info else "missing"
        print(f"{'offer' if kind == 2 else 'type ' + str(kind)} {yiaddr} giaddr={giaddr} agent-info={echoed} "
              f"from={peer[0]}:{peer[1]} tftp={found.get(66, b'').decode()} bootfile={found.get(67, b'').decode()}")
        sys.exit(0 if kind == 2 and data[28:34] == mac else 1)
except socket.timeout:
    print("timeout: no reply at the relay")
    sys.exit(1)
