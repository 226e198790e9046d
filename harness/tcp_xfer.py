#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send MiB over loopback TCP with congestion control CA; print throughput.

Usage: tcp_xfer.py CA MIB.  Fails unless both ends report CA as their
TCP_CONGESTION after the transfer.
"""
import socket
import sys
import threading
import time

TCP_CONGESTION = getattr(socket, 'TCP_CONGESTION', 13)


def cc_of(sock):
    return sock.getsockopt(socket.IPPROTO_TCP, TCP_CONGESTION,
                           16).rstrip(b'\0').decode()


def main():
    ca, mib = sys.argv[1], int(sys.argv[2])
    srv = socket.socket()
    srv.setsockopt(socket.IPPROTO_TCP, TCP_CONGESTION, ca.encode())
    srv.bind(('127.0.0.1', 0))
    srv.listen(1)
    got = {}

    def sink():
        conn, _ = srv.accept()
        n = 0
        while True:
            b = conn.recv(1 << 20)
            if not b:
                break
            n += len(b)
        got['bytes'], got['cc'] = n, cc_of(conn)
        conn.close()

    t = threading.Thread(target=sink)
    t.start()
    cli = socket.socket()
    cli.setsockopt(socket.IPPROTO_TCP, TCP_CONGESTION, ca.encode())
    cli.connect(srv.getsockname())
    buf = b'\0' * (1 << 20)
    start = time.monotonic()
    for _ in range(mib):
        cli.sendall(buf)
    cli_cc = cc_of(cli)
    cli.close()
    t.join()
    secs = time.monotonic() - start
    print('%-10s client TCP_CONGESTION=%s server=%s: %d MiB in %.2fs = %.1f MiB/s'
          % (ca, cli_cc, got['cc'], got['bytes'] >> 20, secs,
             got['bytes'] / secs / (1 << 20)))
    if cli_cc != ca or got['cc'] != ca or got['bytes'] != mib << 20:
        print('FAIL: the transfer did not use %s' % ca)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
