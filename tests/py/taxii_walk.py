"""Walks a trustmesh node's TAXII 2.1 server with the OASIS taxii2-client.

usage: taxii_walk.py URL TOKEN OUT_DIR [ADDED_AFTER] [PER_REQUEST]

Discovery, the API root, every collection; pages through objects/ and
manifest/ with per_request (default 2); with ADDED_AFTER, pages objects/
again from then. Writes OUT_DIR/report.json and, per collection, a bundle
of its objects (OUT_DIR/<collection id>.json) for stix2-validator.
"""

import json
import os
import sys
import time
import uuid

from taxii2client.v21 import Server, as_pages

url, token, out = sys.argv[1:4]
added_after = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else None
per_request = int(sys.argv[5]) if len(sys.argv) > 5 else 2

# taxii2-client sends the token as the Basic password.
# TAXII_VERIFY: a CA or certificate file for an https server.
verify = os.environ.get("TAXII_VERIFY", True)
server = Server(url, user="trustmesh-test", password=token, verify=verify)
root = server.api_roots[0]
report = {
    "title": server.title,
    "default": server.default.url if server.default else None,
    "api_roots": [r.url for r in server.api_roots],
    "root": {
        "title": root.title,
        "versions": root.versions,
        "max_content_length": root.max_content_length,
    },
    "collections": [],
}
started = time.monotonic()
for c in root.collections:
    objects, pages = [], 0
    for envelope in as_pages(c.get_objects, per_request=per_request):
        pages += 1
        objects.extend(envelope.get("objects", []))
    manifest = []
    for envelope in as_pages(c.get_manifest, per_request=per_request):
        manifest.extend(envelope.get("objects", []))
    after = None
    if added_after:
        after = []
        for envelope in as_pages(
            c.get_objects, per_request=per_request, added_after=added_after
        ):
            after.extend(o["id"] for o in envelope.get("objects", []))
    one = None
    if objects:
        got = c.get_object(objects[-1]["id"])
        one = [o["id"] for o in got.get("objects", [])]
    typed = c.get_objects(type="indicator").get("objects", [])
    report["collections"].append(
        {
            "id": c.id,
            "title": c.title,
            "can_read": c.can_read,
            "can_write": c.can_write,
            "media_types": c.media_types,
            "pages": pages,
            "objects": objects,
            "manifest": manifest,
            "after": after,
            "get_object": one,
            "indicators": len(typed),
        }
    )
    with open(f"{out}/{c.id}.json", "w") as f:
        json.dump(
            {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}, f
        )
report["seconds"] = time.monotonic() - started
with open(f"{out}/report.json", "w") as f:
    json.dump(report, f)
