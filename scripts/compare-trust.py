#!/usr/bin/env python3
"""Trust and time, side by side: triage, sslyze and testssl.sh on the same
fixtures, minted here with the openssl CLI and served by `openssl s_server`
on 127.0.0.1 (run it inside the loopback-only namespace:
`scripts/in-netns.sh python3 scripts/compare-trust.py TRIAGE SSLYZE`).

Rows: a leaf expiring in 5 days; the same judged 10 days ahead (`--at`); a
leaf from a second root against two named stores; a revoked OCSP staple; a
must-staple leaf served without a staple; a leaf its CA's CRL lists
(served over http on loopback). Each cell is what the tool printed about
it, shortened; `—` when the tool has no such check.
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import http.server
import functools

triage = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/debug/triage")
sslyze = sys.argv[2] if len(sys.argv) > 2 else "/tmp/sslyze-venv/bin/sslyze"
testssl = "/usr/bin/testssl"
work = tempfile.mkdtemp(prefix="triage-trust-")
os.chdir(work)


def sh(*argv, check=True, **kw):
    r = subprocess.run(list(argv), capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise SystemExit(f"{' '.join(argv)}: {r.stderr}")
    return r


def ca(name):
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "3650", "-subj", f"/CN={name}",
       "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")


def leaf(name, issuer, days, *ext):
    sh("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", "/CN=localhost")
    lines = ["subjectAltName=DNS:localhost,IP:127.0.0.1", "extendedKeyUsage=serverAuth", "basicConstraints=CA:FALSE"] + list(ext)
    with open(f"{name}.ext", "w") as f:
        f.write("\n".join(lines) + "\n")
    sh("openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", f"{issuer}.pem", "-CAkey", f"{issuer}.key",
       "-CAcreateserial", "-days", str(days), "-out", f"{name}.pem", "-extfile", f"{name}.ext")


def serial(name):
    return sh("openssl", "x509", "-noout", "-serial", "-in", f"{name}.pem").stdout.strip().split("=")[1]


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


servers = []


def serve(name, *extra):
    port = free_port()
    p = subprocess.Popen(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", f"{name}.pem", "-key", f"{name}.key",
                          "-www", "-quiet"] + list(extra), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    servers.append(p)
    time.sleep(0.4)
    return port


ca("rootA")
ca("rootB")
crl_port = free_port()
leaf("soon", "rootA", 5)
leaf("other", "rootB", 200)
leaf("revoked", "rootA", 200, "authorityInfoAccess=OCSP;URI:http://127.0.0.1:9/")
leaf("staple", "rootA", 200, "tlsfeature=status_request")
leaf("listed", "rootA", 200, f"crlDistributionPoints=URI:http://127.0.0.1:{crl_port}/rootA.crl")

# OCSP: rootA's responder, offline (request in, response out); the CRL by `openssl ca -gencrl`.
now = time.gmtime()
index = "".join(f"R\t301231000000Z\t{time.strftime('%y%m%d000000Z', now)}\t{serial(n)}\tunknown\t/CN=localhost\n" for n in ("revoked", "listed"))
open("index.txt", "w").write(index)
open("crlnumber", "w").write("01\n")
open("ca.cnf", "w").write(f"[ca]\ndefault_ca = d\n[d]\ndatabase = {work}/index.txt\ncrlnumber = {work}/crlnumber\ndefault_md = sha256\ndefault_crl_days = 7\n")
sh("openssl", "ocsp", "-issuer", "rootA.pem", "-cert", "revoked.pem", "-reqout", "req.der", "-no_nonce")
sh("openssl", "ocsp", "-index", "index.txt", "-rsigner", "rootA.pem", "-rkey", "rootA.key", "-CA", "rootA.pem",
   "-reqin", "req.der", "-respout", "revoked.ocsp", "-ndays", "1")
sh("openssl", "ca", "-config", "ca.cnf", "-gencrl", "-keyfile", "rootA.key", "-cert", "rootA.pem", "-out", "rootA.crl.pem")
sh("openssl", "crl", "-in", "rootA.crl.pem", "-outform", "DER", "-out", "rootA.crl")
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=work)
http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
crl_server = http.server.ThreadingHTTPServer(("127.0.0.1", crl_port), handler)
threading.Thread(target=crl_server.serve_forever, daemon=True).start()

ports = {
    "soon": serve("soon"),
    "other": serve("other"),
    "revoked": serve("revoked", "-status_file", "revoked.ocsp"),
    "staple": serve("staple"),
    "listed": serve("listed"),
}


def shorten(text, n=110):
    return text if len(text) <= n else text[: n - 1] + "…"


def triage_says(port, *flags, ca_file="rootA.pem"):
    out = os.path.join(work, f"case-{port}-{len(flags)}")
    sh(triage, "run", f"https://localhost:{port}/", "--cacert", ca_file, "--out", out, "--force", "-q", *flags, check=False)
    doc = json.load(open(os.path.join(out, "report.json")))
    found = [f"`{f['cause']}`" + (" (warning)" if f.get("severity") == "warning" else "") + ": " + shorten(f.get("summary", ""))
             for f in doc.get("findings", [])]
    return "; ".join(dict.fromkeys(found)) or "no finding"


def sslyze_says(port, ca_file="rootA.pem"):
    out = os.path.join(work, f"sslyze-{port}.json")
    sh(sslyze, "--certinfo", "--certinfo_ca_file", ca_file, f"--json_out={out}", f"localhost:{port}", check=False)
    try:
        doc = json.load(open(out))
        d = doc["server_scan_results"][0]["scan_result"]["certificate_info"]["result"]["certificate_deployments"][0]
    except Exception as e:  # noqa: BLE001 — a tool's output that could not be read is said as such
        return f"(no result: {e})"
    leaf = d["received_certificate_chain"][0]
    said = [f"notAfter {leaf['not_valid_after'][:10]}"]
    custom = [r for r in d["path_validation_results"] if "Custom" in r["trust_store"]["name"] or r["trust_store"]["path"].endswith(ca_file)]
    if custom:
        said.append("custom CA: " + ("trusted" if custom[0]["was_validation_successful"] else "not trusted " + (custom[0].get("openssl_error_string") or "")).strip())
    if d.get("leaf_certificate_has_must_staple_extension"):
        said.append("must-staple")
    ocsp = d.get("ocsp_response")
    if ocsp:
        said.append(f"staple: {ocsp.get('response_status')} {ocsp.get('certificate_status', '')}".strip())
    elif d.get("leaf_certificate_has_must_staple_extension"):
        said.append("no staple")
    return "; ".join(said)


def testssl_says(port, *, ca_file="rootA.pem", ids=("cert_expirationStatus", "cert_chain_of_trust", "OCSP_stapling", "cert_mustStapleExtension", "cert_revocation", "cert_ocspRevoked", "cert_crlRevoked")):
    out = os.path.join(work, f"testssl-{port}.json")
    if os.path.exists(out):
        os.unlink(out)
    sh(testssl, "--quiet", "--warnings", "off", "--phone-out", "--add-ca", os.path.join(work, ca_file), "-S", "--jsonfile", out,
       f"localhost:{port}", check=False, timeout=300)
    try:
        rows = json.load(open(out))
    except Exception as e:  # noqa: BLE001
        return f"(no result: {e})"
    said = []
    for row in rows:
        if any(row.get("id", "").startswith(i) for i in ids) and row.get("finding"):
            said.append(f"{row['id']}: {row['finding'][:60]}")
    return "; ".join(dict.fromkeys(said)) or "—"


rows = [
    ("leaf expires in 5 days", lambda: triage_says(ports["soon"]), lambda: sslyze_says(ports["soon"]), lambda: testssl_says(ports["soon"])),
    ("same leaf judged 10 days ahead", lambda: triage_says(ports["soon"], "--at", "+10d"), lambda: "— (no 'as of' date)", lambda: "— (no 'as of' date)"),
    ("leaf of root B; stores A and B named", lambda: triage_says(ports["other"], "--trust-store", f"A={work}/rootA.pem", "--trust-store", f"B={work}/rootB.pem", ca_file="rootB.pem"),
     lambda: sslyze_says(ports["other"], ca_file="rootA.pem"), lambda: testssl_says(ports["other"], ca_file="rootA.pem")),
    ("revoked OCSP staple", lambda: triage_says(ports["revoked"]), lambda: sslyze_says(ports["revoked"]), lambda: testssl_says(ports["revoked"])),
    ("must-staple leaf, no staple", lambda: triage_says(ports["staple"]), lambda: sslyze_says(ports["staple"]), lambda: testssl_says(ports["staple"])),
    ("leaf listed in its CA's CRL", lambda: triage_says(ports["listed"], "--fetch-crl"), lambda: sslyze_says(ports["listed"]), lambda: testssl_says(ports["listed"])),
]
print("| fixture | triage | sslyze | testssl.sh |")
print("|---|---|---|---|")
try:
    for name, *tools in rows:
        cells = []
        for tool in tools:
            try:
                cells.append(tool())
            except Exception as e:  # noqa: BLE001
                cells.append(f"(failed: {e})")
        print(f"| {name} | " + " | ".join(c.replace("|", "/") for c in cells) + " |", flush=True)
finally:
    for p in servers:
        p.kill()
    crl_server.shutdown()
