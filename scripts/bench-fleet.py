#!/usr/bin/env python3
"""make bench, fleet and capture parts, inside the loopback-only namespace:

1. `triage scan` on 1,000 TLS ports of a local nginx (RSA-2048 leaf, session
   tickets off) beside sslyze (in a venv, if pip can install it) and a shell
   loop of `openssl s_client | openssl x509 -dates` on the same targets.
2. A fan-out: the default runbook against a name with 240 addresses.
3. `triage analyze` as a whole process on a generated capture of 80,000
   TLS 1.2 handshakes (~245 MB, 80,000 client addresses) beside tshark
   extracting the alerts from the same file.

Prints rates, wall times, ratios, peak RSS and report sizes.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

triage = sys.argv[1] if len(sys.argv) > 1 else ".build/release/triage"
bench = os.path.join(os.path.dirname(triage), "capture-bench")
PORTS = int(os.environ.get("BENCH_PORTS", "1000"))
work = tempfile.mkdtemp(prefix="triage-fleet-")


def run(argv, **kwargs):
    """Wall time, exit status and peak RSS (MB) of one process."""
    start = time.perf_counter()
    p = subprocess.Popen(argv, **kwargs)
    _, status, usage = os.wait4(p.pid, 0)
    return time.perf_counter() - start, os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024


def sh(command):
    subprocess.run(command, shell=True, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# --- certificates and nginx with PORTS TLS ports --------------------------------
sh(f"cd {work} && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 -subj '/CN=bench CA'"
   f" && openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj '/CN=localhost'"
   f" && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext.cnf"
   f" && openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 30 -extfile ext.cnf")
base = 20000
listens = "\n".join(f"        listen 127.0.0.1:{base + i} ssl;" for i in range(PORTS))
fan_port = base + PORTS + 1
conf = f"""
worker_processes 2;
worker_rlimit_nofile 65536;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log crit;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {work}/cb; proxy_temp_path {work}/px; fastcgi_temp_path {work}/fc; uwsgi_temp_path {work}/uw; scgi_temp_path {work}/sc;
    ssl_certificate {work}/leaf.pem;
    ssl_certificate_key {work}/leaf.key;
    ssl_session_tickets off;
    ssl_session_cache off;
    ssl_protocols TLSv1.2 TLSv1.3;
    server {{
{listens}
        location / {{ return 200 "ok"; }}
    }}
    server {{
        listen {fan_port} ssl;
        server_name fan.test;
        location / {{ return 200 "ok"; }}
    }}
}}
"""
user = "user root;\n" if os.getuid() == 0 else ""
open(f"{work}/nginx.conf", "w").write(user + conf)
nginx = subprocess.Popen(["nginx", "-p", work, "-c", f"{work}/nginx.conf"], stderr=subprocess.DEVNULL)
for _ in range(200):
    if subprocess.run(["sh", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{base + PORTS - 1}"], executable="/bin/bash",
                      stderr=subprocess.DEVNULL).returncode == 0:
        break
    time.sleep(0.05)

targets = f"{work}/targets.txt"
with open(targets, "w") as f:
    for i in range(PORTS):
        f.write(f"localhost:{base + i}\n")

try:
    # --- 1. scan --------------------------------------------------------------
    print(f"scan: {PORTS} TLS endpoints on one nginx (RSA-2048, session tickets off)")
    out = open(f"{work}/scan.jsonl", "w")
    t, code, rss = run([triage, "scan", "--targets", targets, "--cacert", f"{work}/ca.pem", "--format", "jsonl"],
                       stdout=out, stderr=subprocess.DEVNULL)
    out.close()
    lines = open(f"{work}/scan.jsonl").read().splitlines()
    ok = sum('"ok":true' in line for line in lines)
    scan_rate = PORTS / t
    print(f"  triage scan:     {t:.2f} s, {scan_rate:.0f} endpoints/s (target >= 500), exit {code}, {ok}/{len(lines)} ok, peak RSS {rss:.1f} MB")

    sample = min(PORTS, 200)
    loop = "; ".join(f"openssl s_client -connect 127.0.0.1:{base + i} -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -dates >/dev/null"
                     for i in range(sample))
    t, _, _ = run(["sh", "-c", loop])
    loop_rate = sample / t
    print(f"  openssl loop:    {sample} endpoints in {t:.2f} s, {loop_rate:.0f} endpoints/s; triage / loop = {scan_rate / loop_rate:.1f}x")

    # The Makefile installs sslyze into this venv before entering the network namespace (pip needs PyPI).
    venv = os.environ.get("BENCH_VENV", ".build/bench-venv")
    sslyze_rate = None
    if os.path.exists(f"{venv}/bin/python") and subprocess.run([f"{venv}/bin/python", "-c", "import sslyze"],
                                                               stderr=subprocess.DEVNULL).returncode == 0:
        sample = min(PORTS, 200)
        argv = [f"{venv}/bin/python", "-m", "sslyze", "--certinfo", "--quiet", "--json_out", f"{work}/sslyze.json"] + \
               [f"localhost:{base + i}" for i in range(sample)]
        t, code, _ = run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sslyze_rate = sample / t
        print(f"  sslyze --certinfo: {sample} endpoints in {t:.2f} s, {sslyze_rate:.0f} endpoints/s; triage / sslyze = {scan_rate / sslyze_rate:.1f}x (target >= 10)")
    else:
        print(f"  sslyze: not measured (no sslyze in {venv}: make bench installs it there)")

    if os.environ.get("BENCH_ONLY") == "scan":
        raise SystemExit(0)
    # --- exporter: probes/s with 50 concurrent scrapes, beside blackbox_exporter ---
    import concurrent.futures
    import socket
    import urllib.request

    def free_port():
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    def wait_for(port):
        for _ in range(200):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.05)

    def hammer(url_of, count, concurrency=50):
        start = time.perf_counter()
        ok = 0
        with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
            for body in pool.map(lambda i: urllib.request.urlopen(url_of(i), timeout=30).read(), range(count)):
                ok += b"probe_success 1" in body
        return count / (time.perf_counter() - start), ok

    scrapes = 1000
    eport = free_port()
    # The same work as blackbox's tcp+tls module: one handshake, the chain checked (no no-SNI variant).
    open(f"{work}/modules.yml", "w").write(f"modules:\n  default:\n    sni_variants: false\n    ca_file: {work}/ca.pem\n")
    exporter = subprocess.Popen([triage, "exporter", "--listen", f"127.0.0.1:{eport}", "--config", f"{work}/modules.yml", "--concurrency", "64"],
                                stderr=subprocess.DEVNULL)
    wait_for(eport)
    rate, ok = hammer(lambda i: f"http://127.0.0.1:{eport}/probe?target=localhost:{base + i % PORTS}", scrapes)
    exporter.terminate(); exporter.wait()
    print(f"exporter: {scrapes} scrapes, 50 at once: triage exporter {rate:.0f} probes/s ({ok} successes)", end="")
    bport = free_port()
    open(f"{work}/blackbox.yml", "w").write(f"modules:\n  tls:\n    prober: tcp\n    timeout: 5s\n    tcp:\n      tls: true\n"
                                            f"      tls_config:\n        ca_file: {work}/ca.pem\n        server_name: localhost\n")
    blackbox = subprocess.Popen(["prometheus-blackbox-exporter", f"--config.file={work}/blackbox.yml", f"--web.listen-address=127.0.0.1:{bport}"],
                                stderr=subprocess.DEVNULL)
    wait_for(bport)
    brate, bok = hammer(lambda i: f"http://127.0.0.1:{bport}/probe?module=tls&target=127.0.0.1:{base + i % PORTS}", scrapes)
    blackbox.terminate(); blackbox.wait()
    print(f"; blackbox_exporter {brate:.0f} probes/s ({bok} successes); ratio {rate / brate:.2f}")

    # --- 2. fan-out -----------------------------------------------------------
    resolves = []
    for i in range(240):
        resolves += ["--resolve", f"fan.test:{fan_port}:127.0.{1 + i // 250}.{1 + i % 250}"]
    # nginx listens on *:fan_port: every 127.x address reaches it.
    t, code, rss = run([triage, "run", f"https://fan.test:{fan_port}/", "--cacert", f"{work}/ca.pem", "--out", f"{work}/fan", "-q"] + resolves,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    size = os.path.getsize(f"{work}/fan/report.md") if os.path.exists(f"{work}/fan/report.md") else 0
    print(f"fan-out: 240 addresses of one name, default runbook: {t:.2f} s, exit {code}, peak RSS {rss:.1f} MB, report.md {size / 1024:.0f} KB")
finally:
    nginx.terminate()
    nginx.wait()

# --- 3. analyze on a big capture ------------------------------------------------
capture = f"{work}/big.pcapng"
subprocess.run([bench, capture, "80000"], check=True, stdout=subprocess.DEVNULL)
size = os.path.getsize(capture)
# Three runs: this machine shares its cores, so the best and the median are both given.
runs = [run([triage, "analyze", capture, "--out", f"{work}/analyze-{i}", "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for i in range(3)]
times = sorted(r[0] for r in runs)
t, code, rss = min(runs)
report = os.path.getsize(f"{work}/analyze-0/report.md")
print(f"analyze: {size / 1e6:.0f} MB, 80000 handshakes: best {t:.2f} s ({size / 1e6 / t:.0f} MB/s, target >= 200), median {times[1]:.2f} s "
      f"({size / 1e6 / times[1]:.0f} MB/s), exit {code}, peak RSS {max(r[2] for r in runs):.1f} MB (target <= 100), "
      f"report.md {report / 1024:.0f} KB (target <= 256)")
tt, _, _ = run(["tshark", "-r", capture, "-Y", "tls.alert_message", "-T", "fields", "-e", "tls.alert_message.desc"],
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(f"  tshark alerts:   {tt:.2f} s; triage / tshark = {t / tt:.3f} best, {times[1] / tt:.3f} median (target <= 0.1)")
# Flat in the file's size: twice the handshakes, the same peak.
capture2 = f"{work}/big2.pcapng"
subprocess.run([bench, capture2, "160000"], check=True, stdout=subprocess.DEVNULL)
t2, _, rss2 = run([triage, "analyze", capture2, "--out", f"{work}/analyze-big2", "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(f"  twice the file:  {os.path.getsize(capture2) / 1e6:.0f} MB, 160000 handshakes: {t2:.2f} s, peak RSS {rss2:.1f} MB")
os.remove(capture2)

# --- 4. the runbook loader on bombs and on size ------------------------------------
def bomb(name, text):
    path = f"{work}/{name}.yaml"
    open(path, "w").write(text)
    # triage's own high-water mark (TRIAGE_PEAK_RSS): wait4's would count this script's memory (the bombs'
    # text) at the moment it started triage.
    start = time.perf_counter()
    p = subprocess.run([triage, "validate", path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       env={**os.environ, "TRIAGE_PEAK_RSS": "1"})
    t = time.perf_counter() - start
    peak = next((int(line.split()[-2]) for line in p.stderr.splitlines() if line.startswith("triage: peak resident set")), 0)
    print(f"  {name:<28} exit {p.returncode}, {t * 1000:.0f} ms, peak RSS {peak / 1024:.1f} MB")

print("loader:")
aliases = "name: t\ninputs:\n  l0: { default: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol] }\n" + "".join(
    f"  l{i}: {{ default: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}] }}\n" for i in range(1, 9)) + "steps:\n  - { id: a, uses: exec, with: { run: [true] } }\n"
bomb("alias bomb (387M nodes)", aliases)
bomb("100000 nested parentheses", "name: t\nsteps:\n  - id: a\n    uses: exec\n    if: ${{ " + "(" * 100000 + "1" + ")" * 100000 + " }}\n    with: { run: [true] }\n")
padded = aliases.replace("steps:", "#" + "x" * 60_000_000 + "\nsteps:")
bomb("alias bomb + 60 MB comment", padded)
bomb("flat list, 1.9 MB", "name: t\nx: [" + "1," * 950_000 + "1]\nsteps:\n  - { id: a, uses: exec, with: { run: [true] } }\n")
for n in (5000, 10000, 15000):
    steps = "".join(f"  - id: s{i}\n    uses: exec\n    if: ${{{{ steps.s{i - 1}.status == 'ok' }}}}\n    with: {{ run: [echo, '{i}'] }}\n" for i in range(1, n + 1))
    bomb(f"{n} steps", "name: big\nsteps:\n  - { id: s0, uses: exec, with: { run: [true] } }\n" + steps)
shutil.rmtree(work, ignore_errors=True)
