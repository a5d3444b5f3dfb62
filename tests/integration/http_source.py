#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""A scriptable HTTP media source for the ingest fault tests (loopback only).

  http_source.py PORT FILE

Paths:
  /ts        FILE at about its bitrate (--rate bytes/s), then close
  /garbage   FILE with random bytes spliced in every 50 packets, then close
  /truncated FILE cut in the middle of a TS packet, then close
  /trickle   one byte of FILE a second (a stalled source)
  /404, /500 that status
  /html      an HTML page (an unsupported format)
  /icy       FILE as Icecast audio: icy-metaint 8192 with StreamTitle blocks
"""
import http.server
import os
import random
import socketserver
import sys
import time

PORT, FILE = int(sys.argv[1]), sys.argv[2]
RATE = 300_000  # bytes/s
DATA = open(FILE, 'rb').read()
METAINT = 8192


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.0'

    def log_message(self, fmt, *args):
        sys.stderr.write('http_source: ' + fmt % args + '\n')

    def start(self, ctype, extra=()):
        self.send_response(200)
        self.send_header('Content-Type', ctype)
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()

    def paced(self, data):
        for i in range(0, len(data), 16384):
            self.wfile.write(data[i:i + 16384])
            self.wfile.flush()
            time.sleep(16384 / RATE)

    def do_GET(self):
        rnd = random.Random(7)
        try:
            if self.path == '/ts':
                self.start('video/mp2t')
                self.paced(DATA)
            elif self.path == '/garbage':
                self.start('video/mp2t')
                out = bytearray()
                for i in range(0, len(DATA), 188 * 50):
                    out += DATA[i:i + 188 * 50]
                    out += bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 400)))
                self.paced(bytes(out))
            elif self.path == '/truncated':
                self.start('video/mp2t')
                self.paced(DATA[:188 * 700 + 57])
            elif self.path == '/trickle':
                self.start('video/mp2t')
                for b in DATA[:60]:
                    self.wfile.write(bytes([b]))
                    self.wfile.flush()
                    time.sleep(1)
            elif self.path in ('/404', '/500'):
                self.send_error(int(self.path[1:]))
            elif self.path == '/html':
                self.start('text/html')
                self.wfile.write(b'<!doctype html><html><body>' + b'x' * 4096 + b'</body></html>')
            elif self.path == '/icy':
                self.start('audio/mpeg', [('icy-metaint', str(METAINT)), ('icy-name', 'test')])
                out = bytearray()
                for n, i in enumerate(range(0, len(DATA), METAINT)):
                    out += DATA[i:i + METAINT]
                    if len(DATA[i:i + METAINT]) < METAINT:
                        break
                    meta = f"StreamTitle='Song {n}';".encode() if n % 3 == 0 else b''
                    blocks = (len(meta) + 15) // 16
                    out += bytes([blocks]) + meta.ljust(blocks * 16, b'\0')
                self.paced(bytes(out))
            else:
                self.send_error(404)
        except (BrokenPipeError, ConnectionResetError):
            pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


Server(('127.0.0.1', PORT), Handler).serve_forever()
