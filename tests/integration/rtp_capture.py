#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write the MPEG-TS payloads of RTP datagrams received on ADDR:PORT to
FILE until nothing arrives for 3 s: the test's record of what was sent.

  rtp_capture.py ADDR PORT FILE
"""
import socket
import sys

addr, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((addr, port))
s.settimeout(3)
with open(path, 'wb') as out:
    try:
        while True:
            d = s.recv(65536)
            off = 12 + 4 * (d[0] & 0x0f)
            if d[0] & 0x10:  # header extension
                off += 4 + 4 * int.from_bytes(d[off + 2:off + 4], 'big')
            end = len(d) - (d[-1] if d[0] & 0x20 else 0)
            out.write(d[off:end])
    except socket.timeout:
        pass
