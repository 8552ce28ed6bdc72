"""The receiving end of trustmesh's alerts, for tests/it/ops.rs.

An https server whose certificate comes from a throwaway CA made with
trustme, and an SMTP server (aiosmtpd) that requires STARTTLS and AUTH.
Every request and mail is checked here, as a receiver would check it, and
recorded as one JSON line:

  http.jsonl  {path, status, delivery, signature_ok, format_ok, why, body}
  smtp.jsonl  {tls, login, mail_from, rcpt_tos, subject, body}

Usage: receiver.py DIR HMAC_KEY_FILE SMTP_LOGIN SMTP_PASSWORD_FILE
Writes DIR/ca.pem, then DIR/ready.json {"https": port, "smtp": port}; runs
until its standard input closes.
"""

import email
import email.policy
import hashlib
import hmac
import http.server
import json
import socket
import ssl
import sys
import threading
from pathlib import Path

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

out = Path(sys.argv[1])
key = Path(sys.argv[2]).read_bytes().strip()
smtp_login = sys.argv[3].encode()
smtp_password = Path(sys.argv[4]).read_bytes().rstrip(b"\r\n")
lock = threading.Lock()


def record(name, entry):
    with lock, open(out / name, "a") as f:
        f.write(json.dumps(entry) + "\n")


def verify(body: bytes, header: str) -> bool:
    """What the README tells a receiver to do."""
    expected = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header or "")


def check_format(path: str, doc) -> str:
    """An empty string when the body has the shape the path's service takes."""
    if path == "/raw" or path == "/flaky":
        for k in ("rule", "doc", "version", "owner", "advisory"):
            if k not in doc:
                return f"raw: no {k}"
        return ""
    if path in ("/slack", "/mattermost"):
        if set(doc) != {"text"} or not isinstance(doc["text"], str):
            return f"{path}: not {{'text': str}}: {sorted(doc)}"
        t = doc["text"]
        if "TLP:CLEAR" not in t or "(from AA)" not in t:
            return f"{path}: the line lacks TLP or owner: {t}"
        link = "<https://tm.cert-bb.example/advisories/" if path == "/slack" else "](https://tm.cert-bb.example/advisories/"
        if link not in t:
            return f"{path}: no link in its syntax: {t}"
        return ""
    if path == "/teams":
        if doc.get("type") != "message":
            return "teams: type is not message"
        atts = doc.get("attachments")
        if not isinstance(atts, list) or len(atts) != 1:
            return "teams: not one attachment"
        a = atts[0]
        if a.get("contentType") != "application/vnd.microsoft.card.adaptive":
            return "teams: contentType"
        card = a.get("content", {})
        if card.get("type") != "AdaptiveCard" or not card.get("version"):
            return "teams: not an AdaptiveCard with a version"
        kinds = [b.get("type") for b in card.get("body", [])]
        if "TextBlock" not in kinds or "FactSet" not in kinds:
            return f"teams: body {kinds}"
        facts = {f["title"]: f["value"] for b in card["body"] if b.get("type") == "FactSet" for f in b["facts"]}
        if facts.get("TLP") != "TLP:CLEAR" or facts.get("Team") != "AA":
            return f"teams: facts {facts}"
        acts = card.get("actions", [])
        if not acts or acts[0].get("type") != "Action.OpenUrl" or not acts[0].get("url", "").startswith("https://tm.cert-bb.example/advisories/"):
            return f"teams: actions {acts}"
        return ""
    return f"unexpected path {path}"


flaky_seen = set()


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(n)
        delivery = self.headers.get("x-trustmesh-delivery", "")
        sig_ok = verify(body, self.headers.get("x-trustmesh-signature"))
        try:
            doc = json.loads(body)
            why = check_format(self.path, doc)
        except ValueError as e:
            doc, why = None, f"not JSON: {e}"
        if self.headers.get("x-team") != "cert-bb":
            why = why or "custom header X-Team missing"
        if self.headers.get("content-type") != "application/json":
            why = why or "content-type"
        status = 200
        # The first delivery of each advisory to /flaky fails: the node retries.
        if self.path == "/flaky" and delivery not in flaky_seen:
            flaky_seen.add(delivery)
            status = 503
        record("http.jsonl", {
            "path": self.path, "status": status, "delivery": delivery,
            "signature_ok": sig_ok, "format_ok": why == "", "why": why,
            "body": body.decode("utf-8", "replace"),
        })
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Mailbox:
    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        record("smtp.jsonl", {
            "tls": session.ssl is not None,
            "login": session.auth_data.decode() if session.authenticated else None,
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "subject": str(msg["subject"]),
            "body": msg.get_content() if not msg.is_multipart() else "",
        })
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == smtp_login and auth_data.password == smtp_password
    return AuthResult(success=ok, auth_data=auth_data.login if ok else None)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ca = trustme.CA()
ca.cert_pem.write_to_path(str(out / "ca.pem"))
cert = ca.issue_cert("127.0.0.1", "localhost")

https = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
sctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
cert.configure_cert(sctx)
https.socket = sctx.wrap_socket(https.socket, server_side=True)
threading.Thread(target=https.serve_forever, daemon=True).start()

mctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
cert.configure_cert(mctx)
smtp_port = free_port()
smtp = Controller(
    Mailbox(), hostname="127.0.0.1", port=smtp_port, tls_context=mctx,
    require_starttls=True, authenticator=authenticator, auth_required=True,
    auth_require_tls=True,
)
smtp.start()

(out / "ready.json.tmp").write_text(json.dumps({"https": https.server_address[1], "smtp": smtp_port}))
(out / "ready.json.tmp").rename(out / "ready.json")
sys.stdin.read()
smtp.stop()
https.shutdown()
