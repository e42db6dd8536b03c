"""mrxpeer: what the Python peers of the integration tests share. They
speak the sync protocol from docs/protocol.md with pyzmq alone and print
one "PASS desc" or "FAIL desc: why" line per check (tap.sh's t_python
turns them into TAP)."""
import struct
import sys

import zmq

TAG = b"MRX1"


def check(desc, cond, why=""):
    print(("PASS " if cond else "FAIL ") + desc + ("" if cond else ": " + str(why)[:300]))
    sys.stdout.flush()


def u64(n):
    return struct.pack(">Q", n)


def dealer(ctx, endpoint, server_key, public, secret, timeout):
    """A CURVE client DEALER connected to endpoint; receives wait at most
    timeout ms."""
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVTIMEO, timeout)
    s.setsockopt(zmq.CURVE_SERVERKEY, server_key.encode())
    s.setsockopt(zmq.CURVE_PUBLICKEY, public)
    s.setsockopt(zmq.CURVE_SECRETKEY, secret)
    s.connect(endpoint)
    return s
