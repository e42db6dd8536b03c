"""t_wire.py: a peer written from docs/protocol.md with pyzmq alone,
against a running mrxd that listens. It checks that keys which are not
imported peers get nothing, that a peer outside a case is refused it, and
that malformed, oversized and out-of-order messages get an ERROR or a
disconnect while the daemon keeps serving.

Usage: python3 t_wire.py ENDPOINT SERVER_KEY PEER_HOME PEER_CERT CASE ATTEMPTS
  PEER_HOME: a node the daemon has imported (its curve.secret is used),
  not a member of CASE. Prints "PASS ..." or "FAIL ...: why" per check.
"""
import os
import struct
import sys
import time

import zmq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from mrxpeer import TAG, check, u64, dealer as curve_dealer  # noqa: E402

endpoint, server_key, peer_home, cert_file, case, attempts = sys.argv[1:7]
attempts = int(attempts)
ctx = zmq.Context()


# how long to wait for an answer that must come: generous, since a check
# that waits this long has failed anyway, and a loaded machine running
# the sanitizers can be slow (longer still under valgrind)
WAIT_MS = int(os.environ.get("MRX_WIRE_WAIT_MS", "60000"))


def dealer(public, secret, timeout=WAIT_MS):
    return curve_dealer(ctx, endpoint, server_key, public, secret, timeout)


def recv(s):
    try:
        return s.recv_multipart()
    except zmq.Again:
        return None


# 1. keys that are not an imported peer's: no message reaches mrxd
replies = 0
batch = []
for i in range(attempts):
    pub, sec = zmq.curve_keypair()
    batch.append(dealer(pub, sec, timeout=0))
    if len(batch) == 200 or i == attempts - 1:
        time.sleep(0.2)
        for s in batch:
            try:
                s.send_multipart([TAG, b"HELLO", b"x"], zmq.NOBLOCK)
            except zmq.Again:
                pass
        time.sleep(0.2)
        for s in batch:
            try:
                s.recv_multipart(zmq.NOBLOCK)
                replies += 1
            except zmq.Again:
                pass
            s.close()
        batch = []
check("%d connections with keys that are not a peer's get no reply" % attempts, replies == 0,
      replies)

# 2. the real peer, from its own keys
secret = open(peer_home + "/curve.secret").read().strip().encode()
public = zmq.curve_public(secret)
cert = open(cert_file, "rb").read()
s = dealer(public, secret)

s.send_multipart([TAG, b"CASES"])
r = recv(s)
check("a request before HELLO is refused as out of order (code 5)",
      r is not None and r[1] == b"ERROR" and struct.unpack(">Q", r[3])[0] == 5, r)

s.send_multipart([TAG, b"HELLO", cert])
r = recv(s)
check("HELLO with the peer's certificate is answered with HELLO",
      r is not None and r[1] == b"HELLO" and b"BEGIN PGP SIGNED MESSAGE" in r[2], r and r[:2])
# mrxd pulls from us too: it asks CASES
r = recv(s)
check("mrxd pulls in turn: it asks CASES", r is not None and r[1] == b"CASES", r)
s.send_multipart([TAG, b"CASES-OK", u64(0)])

s.send_multipart([TAG, b"CASES"])
r = recv(s)
check("CASES-OK lists no case the peer is not in",
      r is not None and r[1] == b"CASES-OK" and struct.unpack(">Q", r[2])[0] == 0, r)

for cmd, fields in ((b"HEADS", [case.encode()]),
                    (b"FEEDS", [case.encode(), u64(0)]),
                    (b"FETCH", [case.encode(), b"b" * 64, u64(0), u64(4), b"a request"])):
    s.send_multipart([TAG, cmd] + fields)
    r = recv(s)
    check("%s for a case the peer is not in is refused (code 3)" % cmd.decode(),
          r is not None and r[1] == b"ERROR" and struct.unpack(">Q", r[3])[0] == 3, r)

bad = [
    ("a wrong protocol tag", [b"MRX9", b"CASES"], 1),
    ("an unknown command", [TAG, b"DELETE"], 2),
    ("a short case id", [TAG, b"HEADS", b"abc"], 1),
    ("an upper-case case id", [TAG, b"HEADS", case.upper().encode()], 1),
    ("a frame too many", [TAG, b"HEADS", case.encode(), b"extra"], 1),
    ("a count over its limit", [TAG, b"CASES-OK", u64(10 ** 9)], 6),
    ("a count with missing groups", [TAG, b"CASES-OK", u64(3)], 1),
    ("a u64 of 7 bytes", [TAG, b"CASES-OK", b"\0" * 7], 1),
    ("a feed listed twice", [TAG, b"FEEDS", case.encode(), u64(2),
                             b"A" * 40, b"0" * 40, b"A" * 40, b"0" * 40], 1),
    ("FETCH from an offset not on a chunk", [TAG, b"FETCH", case.encode(), b"b" * 64,
                                             u64(1000), u64(4)], 1),
    ("FETCH with no credit", [TAG, b"FETCH", case.encode(), b"b" * 64, u64(0), u64(0)], 1),
    ("FETCH with credit over 64 chunks", [TAG, b"FETCH", case.encode(), b"b" * 64, u64(0),
                                          u64(65)], 6),
    ("FETCH with no signed request", [TAG, b"FETCH", case.encode(), b"b" * 64, u64(0), u64(4)], 1),
    ("FETCH with a request over 4 KiB", [TAG, b"FETCH", case.encode(), b"b" * 64, u64(0), u64(4),
                                         b"r" * 4097], 6),
    ("a CHUNK over 256 KiB", [TAG, b"CHUNK", case.encode(), b"b" * 64, u64(0),
                              b"x" * (256 * 1024 + 1)], 6),
    ("an empty CHUNK", [TAG, b"CHUNK", case.encode(), b"b" * 64, u64(0), b""], 1),
    ("CREDIT for a bundle not being sent", [TAG, b"CREDIT", case.encode(), b"b" * 64, u64(4)], 4),
]
for desc, frames, code in bad:
    s.send_multipart(frames)
    r = recv(s)
    check("%s gets ERROR %d" % (desc, code),
          r is not None and r[1] == b"ERROR" and struct.unpack(">Q", r[3])[0] == code, r)

# an ERROR is never answered: the next reply is the one to the CASES sent
# after it (replies on one connection keep the order of the requests)
s.send_multipart([TAG, b"ERROR", b"CASES", u64(1), b"boom"])
s.send_multipart([TAG, b"CASES"])
r = recv(s)
check("an ERROR gets no answer", r is not None and r[1] == b"CASES-OK", r)

# past the socket's message cap: the connection is dropped
big = dealer(public, secret, timeout=1500)
big.send_multipart([TAG, b"HELLO", b"x" * (9 * 1024 * 1024)])
r = recv(big)
check("a message over the 8 MiB cap gets no reply", r is None, r)
big.close()

s.send_multipart([TAG, b"CASES"])
r = recv(s)
check("after all that the daemon still serves", r is not None and r[1] == b"CASES-OK", r)
s.close()
