#!/usr/bin/python3
"""Adjust a test config in place for the broker suites: each server gets
"sandbox": {"profile": "none"} unless it has a sandbox or is remote (KEEP_SANDBOX=1:
leave them all), and corral.policy defaults to allow unless set
(KEEP_POLICY=1: leave it). Duplicate keys and member order are kept; text
that is not a JSON object is left alone (tests of broken configs)."""
import json
import os
import sys


class Obj(list):
    """A JSON object as its (key, value) pairs, duplicates kept."""


def has(obj, key):
    return any(k == key for k, _ in obj)


def dump(v):
    if isinstance(v, Obj):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" +
                              dump(x) for k, x in v) + "}"
    if isinstance(v, list):
        return "[" + ",".join(dump(x) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False)


def main(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        doc = json.loads(text, object_pairs_hook=Obj)
    except ValueError:
        return
    if not isinstance(doc, Obj):
        return
    if not (has(doc, "mcpServers") or has(doc, "servers")):
        return
    if not os.environ.get("KEEP_SANDBOX"):
        for k, v in doc:
            if k in ("mcpServers", "servers") and isinstance(v, Obj):
                for i, (alias, srv) in enumerate(v):
                    # Remote servers ("type": "http") have no sandbox.
                    if isinstance(srv, Obj) and not has(srv, "sandbox") \
                            and not has(srv, "url"):
                        v[i] = (alias, Obj([("sandbox", Obj([("profile", "none")]))] + srv))
    if not os.environ.get("KEEP_POLICY"):
        allow = ("policy", Obj([("default", "allow")]))
        for i, (k, v) in enumerate(doc):
            if k == "corral":
                if isinstance(v, Obj) and not has(v, "policy"):
                    doc[i] = (k, Obj([allow] + v))
                break
        else:
            doc.append(("corral", Obj([allow])))
    with open(path, "w", encoding="utf-8") as f:
        f.write(dump(doc) + "\n")


main(sys.argv[1])
