"""Checks a trustmesh MISP feed with PyMISP and fetches it as MISP does.

usage:
  misp_feed.py check FEED_DIR OUT          PyMISP loads every event; its
                                           feed_meta_generator remakes the
                                           manifest and hashes.csv
  misp_feed.py fetch BASE_URL TOKEN STATE OUT
                                           what MISP's feed fetcher does:
                                           the manifest, then every event
                                           newer than held, with
                                           If-None-Match; STATE persists
  misp_feed.py publish API_URL TOKEN FILE  POSTs each advisory of FILE
                                           (a JSON list) to the local API
"""

import json
import shutil
import sys
import tempfile
from pathlib import Path

mode = sys.argv[1]

if mode == "check":
    from pymisp import MISPEvent
    from pymisp.tools.feed import feed_meta_generator

    feed, out = Path(sys.argv[2]), sys.argv[3]
    events = {}
    for f in sorted(feed.glob("*.json")):
        if f.name == "manifest.json":
            continue
        e = MISPEvent()
        e.load_file(str(f))
        events[e.uuid] = {
            "file": f.name,
            "info": e.info,
            "orgc": e.Orgc.name,
            "tags": [t.name for t in e.tags],
            "types": sorted({a.type for a in e.attributes}),
            "values": sorted(a.value for a in e.attributes),
            "timestamp": int(e.timestamp.timestamp()),
        }
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for f in feed.glob("*.json"):
            if f.name != "manifest.json":
                shutil.copy(f, tmp / f.name)
        feed_meta_generator(tmp)
        manifest_same = json.loads((tmp / "manifest.json").read_text()) == json.loads(
            (feed / "manifest.json").read_text()
        )
        theirs = sorted((tmp / "hashes.csv").read_text().splitlines())
        ours = sorted((feed / "hashes.csv").read_text().splitlines())
    json.dump(
        {
            "events": events,
            "manifest_same": manifest_same,
            "hashes_same": theirs == ours,
            "hashes": len(ours),
        },
        open(out, "w"),
    )

elif mode == "fetch":
    import requests

    base, token, state_file, out = sys.argv[2:6]
    headers = {"Authorization": f"Bearer {token}"}
    state_path = Path(state_file)
    state = json.loads(state_path.read_text()) if state_path.exists() else {"events": {}}
    report = {"fetched": {}}
    h = dict(headers)
    if state.get("manifest_etag"):
        h["If-None-Match"] = state["manifest_etag"]
    r = requests.get(f"{base}/misp/manifest.json", headers=h)
    report["manifest"] = r.status_code
    if r.status_code == 200:
        state["manifest_etag"] = r.headers.get("ETag")
        for uuid, meta in r.json().items():
            held = state["events"].get(uuid)
            if held and held["timestamp"] >= int(meta["timestamp"]):
                continue
            h = dict(headers)
            if held and held.get("etag"):
                h["If-None-Match"] = held["etag"]
            e = requests.get(f"{base}/misp/{uuid}.json", headers=h)
            report["fetched"][uuid] = e.status_code
            if e.status_code == 200:
                state["events"][uuid] = {
                    "timestamp": int(e.json()["Event"]["timestamp"]),
                    "etag": e.headers.get("ETag"),
                }
    report["held"] = state["events"]
    h = dict(headers)
    r = requests.get(f"{base}/misp/hashes.csv", headers=h)
    report["hashes"] = r.status_code
    h["If-None-Match"] = r.headers.get("ETag", "")
    report["hashes_again"] = requests.get(f"{base}/misp/hashes.csv", headers=h).status_code
    report["no_token"] = requests.get(f"{base}/misp/manifest.json").status_code
    state_path.write_text(json.dumps(state))
    json.dump(report, open(out, "w"))

elif mode == "publish":
    import requests

    api, token, file = sys.argv[2:5]
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    for a in json.loads(Path(file).read_text()):
        r = s.post(f"{api}/api/v1/advisories", json=a)
        r.raise_for_status()
