"""t_api.py: drive a running mrxd through its control API with pyzmq
only, as docs/control-api.md describes it: a program nobody here wrote
the client of. Bad requests get an error reply (or, past the socket's hard
cap, a disconnect), the daemon keeps serving, and nothing changes.

Usage: python3 t_api.py HOME FILE
  HOME: a patient node whose mrxd runs; FILE: a file of some MiB to add.
Prints one line a check: "PASS description" or "FAIL description: why".
"""
import json
import os
import sys

import zmq

home, big_file = sys.argv[1], sys.argv[2]
endpoint = "ipc://" + os.path.join(home, "mrxd.sock")
ctx = zmq.Context()


def connect():
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVTIMEO, 30000)
    s.connect(endpoint)
    return s


sock = connect()


def send(obj, s=None):
    (s or sock).send(obj if isinstance(obj, bytes) else json.dumps(obj).encode())


def final(s=None):
    """Replies until the final one; returns (final, progress list)."""
    progress = []
    while True:
        r = json.loads((s or sock).recv())
        if "progress" in r:
            progress.append(r)
            continue
        return r, progress


def ask(obj, s=None):
    send(obj, s)
    return final(s)[0]


def check(desc, cond, why=""):
    print(("PASS " if cond else "FAIL ") + desc + ("" if cond else ": " + str(why)[:400]))
    sys.stdout.flush()


def refused(desc, request, kind, words):
    r = ask(request)
    e = r.get("error", {})
    check(desc, e.get("kind") == kind and words in e.get("message", "") and
          isinstance(e.get("exit"), int) and "\n" not in e.get("message", ""), r)


def state():
    """What the node holds, to show a refusal changed nothing."""
    r = ask({"request": "case-list"})["result"]
    return json.dumps(r, sort_keys=True)


case = ask({"request": "case-new", "params": {"title": "api test"}})["result"]["id"]
before = state()

# the envelope
refused("text that is not JSON is refused", b"{\"request\": ", "invalid input", "not JSON")
refused("JSON that is not an object is refused", b"[1, 2]", "invalid input", "JSON object")
refused("a request without a name is refused", {"params": {}}, "invalid input",
        "\"request\" is missing")
refused("an unknown request is refused by name", {"request": "format-disk"}, "invalid input",
        "unknown request \"format-disk\"")
refused("an unknown envelope member is refused", {"request": "status", "sudo": True},
        "invalid input", "unknown member \"sudo\"")
refused("a request name of the wrong type is refused", {"request": 7}, "invalid input",
        "\"request\" must be")
refused("params of the wrong type are refused", {"request": "status", "params": [1]},
        "invalid input", "\"params\" must be a JSON object")
refused("duplicate members are refused", b'{"request":"status","request":"id"}',
        "invalid input", "duplicate")
# the parameters
refused("an unknown parameter is refused", {"request": "case-list", "params": {"all": True}},
        "invalid input", "unknown parameter \"all\"")
refused("a parameter of the wrong type is refused",
        {"request": "case-show", "params": {"case": 12345678}}, "invalid input",
        "\"case\" must be a string")
refused("a missing parameter is refused", {"request": "grant", "params": {"case": case}},
        "invalid input", "\"member\" is required")
refused("a relative path is refused",
        {"request": "add", "params": {"case": case, "kind": "records", "paths": ["x.pdf"]}},
        "invalid input", "absolute path")
refused("an empty path list is refused",
        {"request": "add", "params": {"case": case, "kind": "records", "paths": []}},
        "invalid input", "array of 1-")
refused("an unknown bundle kind is refused",
        {"request": "add", "params": {"case": case, "kind": "gossip", "paths": [big_file]}},
        "invalid input", "gossip")
refused("a case that is not here is refused",
        {"request": "case-show", "params": {"case": "abcdef0123"}}, "not found",
        "not on this node")
refused("a string with a NUL byte is refused",
        {"request": "case-new", "params": {"title": "a\u0000b"}}, "invalid input", "NUL")

# sizes: over request_max an error; over the socket's cap a disconnect
big = {"request": "case-new", "params": {"title": "x" * 70000}}
refused("a request over request_max is refused with the limit", big, "limit exceeded",
        "the limit is 65536")
huge = json.dumps({"request": "status", "params": {"pad": "y" * (2 << 20)}}).encode()
s2 = connect()
s2.setsockopt(zmq.RCVTIMEO, 1500)
s2.send(huge)
try:
    s2.recv()
    check("a request over the 1 MiB cap gets no reply (disconnected)", False, "a reply came")
except zmq.Again:
    check("a request over the 1 MiB cap gets no reply (disconnected)", True)
s2.close()

# more than one frame
sock.send_multipart([b'{"request":"status"}', b"extra"])
r, _ = final()
check("a request of two frames is refused", "one frame" in r.get("error", {}).get("message", ""),
      r)

check("after all that the daemon serves, and nothing changed", state() == before,
      state())

# tags: pipelined requests on one connection, each reply matched
send({"request": "id", "tag": "first"})
send({"request": "status", "tag": "second"})
tags = {}
for _ in range(2):
    r, _ = final()
    tags[r.get("tag")] = r
check("pipelined requests each get their reply, by tag",
      "fingerprint" in tags.get("first", {}).get("result", {}) and
      "daemon" in tags.get("second", {}).get("result", {}), tags)
refused("a tag with spaces is refused", {"request": "id", "tag": "a b"}, "invalid input",
        "\"tag\" must be")

# progress streams for a long operation, then one result
send({"request": "add", "tag": "big",
      "params": {"case": case, "kind": "imaging", "paths": [big_file]}})
r, progress = final()
stages = [p["progress"]["stage"] for p in progress]
check("add streams progress (hashing, packaging) before its result",
      "result" in r and "hashing" in stages and "packaging" in stages and
      all(p.get("tag") == "big" for p in progress), (r, stages))
check("progress never goes past its total",
      all(0 <= p["progress"]["done"] <= p["progress"]["total"] for p in progress), progress)
bundle = r.get("result", {}).get("bundle", "")
out = os.path.join(os.path.dirname(home), "api-out")
r, progress = (send({"request": "get", "params": {"case": case, "bundle": bundle[:12],
                                                    "out": out}}), final())[1]
check("get streams progress (opening) and extracts",
      "result" in r and any(p["progress"]["stage"] == "opening" for p in progress) and
      os.path.isdir(out), r)
refused("get into a folder that is not empty is refused",
        {"request": "get", "params": {"case": case, "bundle": bundle[:12], "out": out}},
        "already exists", "not empty")

# a client that goes away mid-request does not upset the daemon
s3 = connect()
send({"request": "add", "params": {"case": case, "kind": "imaging", "paths": [big_file]}}, s3)
s3.close()
check("a client leaving mid-request leaves the daemon serving",
      "result" in ask({"request": "status"}))
