"""Crawls a CSAF 2.0 trusted provider as CSAF 2.0 section 7.3 says a
retrieving party does, and checks what it finds.

usage:
  csaf_provider.py crawl METADATA_URL SCHEMAS OUT [TOKEN]

From provider-metadata.json (validated against SCHEMAS/provider_json_schema.json)
it follows every ROLIE feed of `distributions` (section 7.3.2: ROLIE is
preferred) to each entry's document, hash and signature links, and every
`directory_url` to index.txt and changes.csv and the documents they name;
both ways must find the same documents. Every document is validated against
SCHEMAS/csaf_json_schema.json and checked against its .sha256 and .sha512
files; the public keys of `public_openpgp_keys` are fetched (their
fingerprints are checked by the caller with gpg). Every file fetched is
written under OUT/files/<path below .well-known/csaf/> exactly as served,
and OUT/report.json says what was found. Exits non-zero on the first
violation, naming it. TOKEN, when given, is sent as a Bearer token.
"""

import csv
import hashlib
import io
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

import jsonschema

WELL_KNOWN = "/.well-known/csaf/"


def fail(why):
    print(f"csaf_provider.py: {why}", file=sys.stderr)
    sys.exit(1)


def schema_validator(schemas, name):
    """A Draft 2020-12 validator of SCHEMAS/name whose $refs by URL resolve
    to the files beside it (the shared schemas are kept for offline use)."""
    docs = {}
    for f in Path(schemas).rglob("*.json"):
        s = json.loads(f.read_text(encoding="utf-8"))
        if not isinstance(s, dict):
            continue
        uri = s.get("$id") or s.get("id")
        if isinstance(uri, str):
            # The CSAF schema refers to the CVSS ones without the ?date
            # their ids carry.
            docs[uri] = s
            docs[uri.split("?")[0]] = s
    root = json.loads((Path(schemas) / name).read_text(encoding="utf-8"))
    try:
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        registry = Registry().with_resources(
            (uri, Resource.from_contents(s, default_specification=DRAFT202012))
            for uri, s in docs.items()
        )
        return jsonschema.Draft202012Validator(
            root, registry=registry, format_checker=jsonschema.FormatChecker()
        )
    except ImportError:
        resolver = jsonschema.RefResolver.from_schema(root, store=docs)
        return jsonschema.Draft202012Validator(
            root, resolver=resolver, format_checker=jsonschema.FormatChecker()
        )


def validate(validator, doc, what):
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        fail(
            f"{what} fails its schema: "
            + "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
        )


class Crawler:
    def __init__(self, metadata_url, out, token):
        self.base = metadata_url[: metadata_url.index(WELL_KNOWN) + len(WELL_KNOWN)]
        self.out = Path(out)
        self.token = token
        self.fetched = {}

    def get(self, url):
        """The body at url (under the provider's base), saved as served."""
        if not url.startswith(self.base):
            fail(f"{url} is outside the provider's {self.base}")
        if url in self.fetched:
            return self.fetched[url]
        req = urllib.request.Request(url)
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                if r.status != 200:
                    fail(f"GET {url}: {r.status}")
                body = r.read()
        except urllib.error.HTTPError as e:
            fail(f"GET {url}: {e.code}")
        path = self.out / "files" / url[len(self.base) :]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        self.fetched[url] = body
        return body

    def rel(self, url):
        return url[len(self.base) :]


def check_hash(body, hash_file, algo, name):
    text = hash_file.decode("utf-8")
    digest = text.split()[0] if text.split() else ""
    want = hashlib.new(algo, body).hexdigest()
    if digest != want:
        fail(f"{name}: its .{algo} file says {digest!r}, the bytes hash to {want}")
    # sha256sum's format: the digest, two spaces (binary mode: ' *'), the name.
    parts = text.rstrip("\n").split("  ", 1)
    if len(parts) != 2 or parts[1] != name.rsplit("/", 1)[-1]:
        fail(f"{name}.{algo} is not in sha256sum's format: {text!r}")


def crawl(metadata_url, schemas, out, token):
    c = Crawler(metadata_url, out, token)
    provider_v = schema_validator(schemas, "provider_json_schema.json")
    csaf_v = schema_validator(schemas, "csaf_json_schema.json")
    meta = json.loads(c.get(metadata_url))
    validate(provider_v, meta, "provider-metadata.json")
    if meta["canonical_url"] != metadata_url:
        fail(f"canonical_url {meta['canonical_url']} is not {metadata_url}")
    if meta["role"] != "csaf_trusted_provider":
        fail(f"role {meta['role']}")
    keys = []
    for k in meta.get("public_openpgp_keys", []):
        c.get(k["url"])
        keys.append({"path": c.rel(k["url"]), "fingerprint": k.get("fingerprint")})
    if not keys:
        fail("no public_openpgp_keys (requirement 20)")

    documents = {}  # path -> {tlp, sha256, via}

    def fetch_document(url, tlp, via, hashes, signatures):
        body = c.get(url)
        name = c.rel(url)
        doc = json.loads(body)
        validate(csaf_v, doc, name)
        tracking = doc["document"]["tracking"]
        # Requirement 11: the year folder; section 5.1: the file name.
        import re

        want_name = re.sub(r"[^+\-a-z0-9]+", "_", tracking["id"].lower()) + ".json"
        if name.rsplit("/", 1)[-1] != want_name:
            fail(f"{name}: section 5.1 names it {want_name}")
        if name.split("/")[-2] != tracking["initial_release_date"][:4]:
            fail(f"{name}: not in the folder of its initial_release_date's year")
        label = doc["document"].get("distribution", {}).get("tlp", {}).get("label")
        if label != tlp:
            fail(f"{name} is labelled {label} in the TLP:{tlp} feed")
        found = {"sha256": False, "sha512": False}
        for h in hashes:
            algo = h.rsplit(".", 1)[-1]
            if algo not in found:
                fail(f"{name}: a hash link {h} of no known algorithm")
            check_hash(body, c.get(h), algo, name)
            found[algo] = True
        if not found["sha256"] or not found["sha512"]:
            fail(f"{name}: hashes {found} (requirement 18)")
        if len(signatures) != 1 or not c.get(signatures[0]).startswith(
            b"-----BEGIN PGP SIGNATURE-----"
        ):
            fail(f"{name}: signatures {signatures} (requirement 19)")
        entry = documents.setdefault(
            name,
            {
                "tlp": tlp,
                "tracking_id": tracking["id"],
                "current_release_date": tracking["current_release_date"],
                "sha256": hashlib.sha256(body).hexdigest(),
                "via": [],
            },
        )
        entry["via"].append(via)

    feeds = []
    directories = []
    for d in meta.get("distributions", []):
        for f in d.get("rolie", {}).get("feeds", []):
            feeds.append(f)
        if "directory_url" in d:
            directories.append(d["directory_url"])
    if not feeds:
        fail("no ROLIE feed (requirement 15)")
    for f in feeds:
        feed = json.loads(c.get(f["url"]))["feed"]
        if not any(l["rel"] == "self" and l["href"] == f["url"] for l in feed["link"]):
            fail(f"{f['url']}: no self link to itself")
        if not any(
            x.get("scheme") == "urn:ietf:params:rolie:category:information-type"
            and x.get("term") == "csaf"
            for x in feed.get("category", [])
        ):
            fail(f"{f['url']}: not a ROLIE csaf feed")
        for e in feed["entry"]:
            links = {}
            for l in e["link"]:
                links.setdefault(l["rel"], []).append(l["href"])
            (doc_url,) = links["self"]
            if e["content"]["src"] != doc_url:
                fail(f"{doc_url}: content src {e['content']['src']}")
            fetch_document(
                doc_url,
                f["tlp_label"],
                "rolie",
                links.get("hash", []),
                links.get("signature", []),
            )
    for base in directories:
        folder = c.rel(base).strip("/")
        tlp = folder.upper()
        index = c.get(base + "index.txt").decode("utf-8").splitlines()
        rows = list(csv.reader(io.StringIO(c.get(base + "changes.csv").decode("utf-8"))))
        raw = c.fetched[base + "changes.csv"].decode("utf-8").splitlines()
        for line in raw:
            if not (line.startswith('"') and line.count('"') == 4):
                fail(f"{base}changes.csv: {line!r} is not two quoted fields")
        if sorted(r[0] for r in rows) != sorted(index):
            fail(f"{base}: index.txt and changes.csv list other files")
        for rel in index:
            url = base + rel
            fetch_document(url, tlp, "directory", [url + ".sha256", url + ".sha512"], [url + ".asc"])
            path = c.rel(url)
            want = documents[path]["current_release_date"]
            if [r[1] for r in rows if r[0] == rel] != [want]:
                fail(f"{base}changes.csv: {rel} is not dated {want}")
        # Newest first (requirement 13).
        from datetime import datetime

        def when(s):
            return datetime.fromisoformat(s.replace("Z", "+00:00"))

        dates = [when(r[1]) for r in rows]
        if dates != sorted(dates, reverse=True):
            fail(f"{base}changes.csv is not newest first")
    for path, d in documents.items():
        if directories and sorted(set(d["via"])) != ["directory", "rolie"]:
            fail(f"{path} is found only by {d['via']}")
    # Requirement 14: the top folder lists itself.
    listing = urllib.request.urlopen(c.base, timeout=30).read().decode("utf-8")
    if "provider-metadata.json" not in listing:
        fail(f"{c.base} lists no provider-metadata.json")
    report = {
        "metadata": meta,
        "keys": keys,
        "documents": documents,
        "feeds": [f["url"] for f in feeds],
        "directories": directories,
        "fetched": sorted(c.rel(u) for u in c.fetched),
    }
    (Path(out) / "report.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    if len(sys.argv) < 5 or sys.argv[1] != "crawl":
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    crawl(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] if len(sys.argv) > 5 else None)
